// Records of the text formats (PROTO_TEXT, JSON): messages written back to
// back, each ending where its outermost bracket closes. The scanner counts
// brackets outside strings (and, in text format, outside # comments), so a
// record can span any number of lines.
#pragma once

#include <istream>

#include "tools/trace_reader/record_scanner.h"

namespace tapshim::tap2pcap {

class BracketedRecordScanner : public RecordScanner {
 public:
  enum class Dialect { kProtoText, kJson };

  BracketedRecordScanner(std::istream& in, Dialect dialect);

  // RecordScanner
  absl::StatusOr<bool> next(std::string* record, RecordLocation* location) override;

 private:
  // Refills buffer_ from in_; false at the end of input.
  bool refill();

  std::istream& in_;
  const Dialect dialect_;
  std::string buffer_;
  size_t position_ = 0;         // next unread byte of buffer_
  uint64_t buffer_offset_ = 0;  // file offset of buffer_[0]
};

}  // namespace tapshim::tap2pcap
