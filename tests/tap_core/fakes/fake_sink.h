// A Sink that keeps every output in memory, so tests can decode exactly
// the bytes a tapper submitted. It can also refuse to open (a full disk,
// an unwritable directory) or move a trace to another id (the file
// sink's EEXIST case), and refuse messages as the file sinks do under a
// file size limit, on a full disk or below the disk reserve.
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
    int cut_marks = 0;  // of the writes
    bool closed = false;
    bool discarded = false;  // removed: it held no whole message
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
    return writeMessage(token, parts, count, /*cut_mark=*/false);
  }
  bool writeCutMark(int token, const iovec* parts, int count) override {
    return writeMessage(token, parts, count, /*cut_mark=*/true);
  }
  void close(int token) override { outputs_.at(static_cast<size_t>(token)).closed = true; }
  uint64_t room(int token, uint64_t /*wanted*/) override {
    const Output& output = outputs_.at(static_cast<size_t>(token));
    if (limit_ == UINT64_MAX) return UINT64_MAX;
    const uint64_t used = output.bytes.size() + mark_room_;
    return limit_ > used ? limit_ - used : 0;
  }
  int reopen(uint64_t trace_id, std::string_view /*extension*/) override {
    for (size_t i = 0; i < outputs_.size(); ++i) {
      if (outputs_[i].trace_id == trace_id && !outputs_[i].discarded) return static_cast<int>(i);
    }
    return -1;
  }
  void discard(uint64_t trace_id, std::string_view /*extension*/) override {
    for (Output& output : outputs_) {
      if (output.trace_id == trace_id && output.bytes.empty()) output.discarded = true;
    }
  }

  // Like a file under RLIMIT_FSIZE: a message is refused when it would take
  // an output past `bytes`, less `mark_room` for all but cut marks.
  void limitOutputsTo(uint64_t bytes, uint64_t mark_room) {
    limit_ = bytes;
    mark_room_ = mark_room;
  }
  // Like a full disk: every message fails (`also_marks`) or, like the disk
  // reserve, every message but cut marks; until called again with false.
  void failWrites(bool fail, bool also_marks = true) {
    fail_writes_ = fail;
    fail_marks_ = fail && also_marks;
  }
  // Messages refused or failed so far.
  int failedWrites() const { return failed_writes_; }

  // Every later open() fails, as FilePerTapSink does when it cannot create.
  void failOpens() { fail_opens_ = true; }
  // Every later open() replaces the trace id with `id`.
  void replaceIdsWith(uint64_t id) { replacement_id_ = id; }

  const std::vector<Output>& outputs() const { return outputs_; }
  int openCalls() const { return open_calls_; }
  // The most parts one message came in.
  int maxParts() const { return max_parts_; }

 private:
  bool writeMessage(int token, const iovec* parts, int count, bool cut_mark) {
    if (count < 1 || count > kMaxParts) throw std::invalid_argument("writeParts: part count");
    Output& output = outputs_.at(static_cast<size_t>(token));
    uint64_t size = 0;
    for (int i = 0; i < count; ++i) size += parts[i].iov_len;
    const uint64_t kept_back = cut_mark ? 0 : mark_room_;
    if ((cut_mark ? fail_marks_ : fail_writes_) ||
        (limit_ != UINT64_MAX && output.bytes.size() + size + kept_back > limit_)) {
      ++failed_writes_;
      return false;
    }
    for (int i = 0; i < count; ++i) {
      output.bytes.append(static_cast<const char*>(parts[i].iov_base), parts[i].iov_len);
    }
    ++output.writes;
    if (cut_mark) ++output.cut_marks;
    max_parts_ = std::max(max_parts_, count);
    return true;
  }

  std::vector<Output> outputs_;
  int open_calls_ = 0;
  int max_parts_ = 0;
  bool fail_opens_ = false;
  std::optional<uint64_t> replacement_id_;
  uint64_t limit_ = UINT64_MAX;
  uint64_t mark_room_ = 0;
  bool fail_writes_ = false;
  bool fail_marks_ = false;
  int failed_writes_ = 0;
};

}  // namespace tapshim::testing
