// The records of a trace file that is still being written: bytes come in
// as the file grows, and only whole records come out. A record whose end
// is not on disk yet (a streamed message half-written when the file was
// looked at) is kept until the rest arrives, never handed out cut. The
// record scanners (record_scanner.h) tell a record that is merely cut off
// (wait for more) from bytes that are not a trace (an error).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "tools/trace_reader/trace_format.h"

namespace tapshim::tap2pcap {

class RecordTail {
 public:
  explicit RecordTail(TraceFormat format) : format_(format) {}

  // Adds the bytes that follow those appended before.
  void append(std::string_view bytes) { pending_.append(bytes); }

  // Calls `each` with every whole record of the bytes appended so far, in
  // file order, and keeps the unfinished rest.
  // @return an error naming the problem and its file offset for bytes that
  //         are not a trace; the records before it have been handed out.
  absl::Status takeRecords(const std::function<void(const std::string&)>& each);

  // Bytes kept because their record is not complete yet (blank space
  // between text records included).
  uint64_t pendingBytes() const { return pending_.size(); }
  // True if what is kept holds more than blank space between records.
  bool holdsPartialRecord() const;
  // File offset of the first byte kept.
  uint64_t consumed() const { return consumed_; }

 private:
  const TraceFormat format_;
  std::string pending_;
  uint64_t consumed_ = 0;
};

}  // namespace tapshim::tap2pcap
