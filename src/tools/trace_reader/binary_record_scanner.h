// Records of the binary formats: top-level fields of a TraceWrapper
// (PROTO_BINARY, where a streamed file is records without delimiters), or
// varint-length-prefixed messages (PROTO_BINARY_LENGTH_DELIMITED).
#pragma once

#include <istream>

#include "tools/trace_reader/record_scanner.h"

namespace tapshim::tap2pcap {

class BinaryRecordScanner : public RecordScanner {
 public:
  // delimited: records are "varint length, message"; otherwise each
  // record is one top-level TraceWrapper field (tag, length, message).
  BinaryRecordScanner(std::istream& in, bool delimited);

  // RecordScanner
  absl::StatusOr<bool> next(std::string* record, RecordLocation* location) override;

 private:
  // Reads a varint; appends its raw bytes to *raw if raw is not null.
  // @return false at the end of input before its first byte.
  absl::StatusOr<bool> readVarint(uint64_t* value, std::string* raw);

  std::istream& in_;
  const bool delimited_;
  uint64_t offset_ = 0;
  uint64_t size_ = 0;
};

}  // namespace tapshim::tap2pcap
