// Envoy's file_per_tap sink: each trace in its own file,
// "<path_prefix>_<trace_id><extension>".
//
// Traces hold secrets, so files are created O_CREAT|O_EXCL|O_NOFOLLOW with
// mode 0600: an existing file or symlink is never followed or overwritten.
// When the name is taken, the trace moves to a fresh id.
#pragma once

#include <string>

#include "tap_core/sink.h"
#include "tap_core/trace_ids.h"

namespace tapshim::core {

class FilePerTapSink final : public Sink {
 public:
  static constexpr size_t kMaxPrefixLength = 4000;

  FilePerTapSink(std::string path_prefix, TraceIds& ids);

  // Sink
  int open(uint64_t* trace_id, std::string_view extension) override;
  bool write(int token, std::string_view bytes) override;
  void close(int token) override;

  // "<prefix>_<id><extension>" into `out` (NUL-terminated). Returns false
  // when it does not fit.
  bool pathFor(uint64_t trace_id, std::string_view extension, char* out, size_t size) const;

 private:
  std::string path_prefix_;
  TraceIds& ids_;
};

}  // namespace tapshim::core
