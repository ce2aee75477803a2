// A Sink that keeps every output in memory, so tests can decode exactly
// the bytes a tapper submitted. It can also refuse to open (a full disk,
// an unwritable directory) or move a trace to another id (the file
// sink's EEXIST case).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tap_core/sink/sink.h"

namespace tapshim::testing {

class FakeSink final : public core::Sink {
 public:
  struct Output {
    uint64_t requested_id = 0;  // the id the caller asked for
    uint64_t trace_id = 0;      // the id the sink gave back
    std::string extension;
    std::string bytes;
    int writes = 0;
    bool closed = false;
  };

  // Sink
  int open(uint64_t* trace_id, std::string_view extension) override {
    ++open_calls_;
    if (fail_opens_) return -1;
    Output output;
    output.requested_id = *trace_id;
    if (replacement_id_.has_value()) *trace_id = *replacement_id_;
    output.trace_id = *trace_id;
    output.extension = std::string(extension);
    outputs_.push_back(std::move(output));
    return static_cast<int>(outputs_.size() - 1);
  }
  bool writeParts(int token, const iovec* parts, int count) override {
    if (count < 1 || count > kMaxParts) throw std::invalid_argument("writeParts: part count");
    Output& output = outputs_.at(static_cast<size_t>(token));
    for (int i = 0; i < count; ++i) {
      output.bytes.append(static_cast<const char*>(parts[i].iov_base), parts[i].iov_len);
    }
    ++output.writes;
    max_parts_ = std::max(max_parts_, count);
    return true;
  }
  void close(int token) override { outputs_.at(static_cast<size_t>(token)).closed = true; }

  // Every later open() fails, as FilePerTapSink does when it cannot create.
  void failOpens() { fail_opens_ = true; }
  // Every later open() replaces the trace id with `id`.
  void replaceIdsWith(uint64_t id) { replacement_id_ = id; }

  const std::vector<Output>& outputs() const { return outputs_; }
  int openCalls() const { return open_calls_; }
  // The most parts one message came in.
  int maxParts() const { return max_parts_; }

 private:
  std::vector<Output> outputs_;
  int open_calls_ = 0;
  int max_parts_ = 0;
  bool fail_opens_ = false;
  std::optional<uint64_t> replacement_id_;
};

}  // namespace tapshim::testing
