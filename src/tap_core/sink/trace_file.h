// Naming and creating trace files, shared by the file sinks.
//
// Traces hold secrets: a trace file is created O_CREAT|O_EXCL|O_NOFOLLOW
// with mode 0600, so an existing file or symlink is never followed or
// overwritten; when the name is taken, the file moves to a fresh id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tap_core/trace/trace_ids.h"

namespace tapshim::core {

// "<prefix>_<id><extension>" into `out` (NUL-terminated), as Envoy names
// file_per_tap files. False when it does not fit.
bool traceFilePath(std::string_view prefix, uint64_t id, std::string_view extension, char* out,
                   size_t size);

// Creates the file for *id (for appending), moving *id on to ids.next()
// while the name is taken (a few times). Returns the fd, or -1 after
// saying why, once per kind of problem.
int createTraceFile(std::string_view prefix, std::string_view extension, uint64_t* id,
                    TraceIds& ids);

}  // namespace tapshim::core
