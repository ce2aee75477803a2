// What the launcher can tell about a program before it runs it: whether the
// shim can tap it at all.
#pragma once

#include <optional>
#include <string>

namespace tapshim::launcher {

// The file execvp would run for `command` (searched in PATH unless it
// holds a slash), or nothing if there is none.
std::optional<std::string> resolveCommand(const std::string& command, const char* path_variable);

// A one-line warning if the dynamic loader will not preload the shim into
// the program at `path`: a statically linked ELF file (no PT_INTERP, which
// static-pie has none of either), a set-user-ID or set-group-ID file whose
// owner differs from the caller's effective ids, or, for a caller other
// than root, a file with capabilities (the loader then runs in secure
// mode and ignores LD_PRELOAD paths); or a Go program, whose network calls
// bypass libc. Nothing for anything
// else, including scripts and files it cannot read.
std::optional<std::string> untappableReason(const std::string& path);

}  // namespace tapshim::launcher
