// Splits a trace file into its records, one TraceWrapper each, without
// parsing them and without reading more than one record into memory.
#pragma once

#include <istream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tools/trace_reader/trace_format.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::tap2pcap {

// protobuf refuses messages of 2 GiB or more; so do we, before allocating.
inline constexpr uint64_t kMaxRecordBytes = (uint64_t{1} << 31) - 1;

class RecordScanner {
 public:
  virtual ~RecordScanner() = default;

  // Reads the next record into *record (its bytes as a TraceWrapper parser
  // takes them) and where it lies in the file into *location.
  // @return true for a record, false at the clean end of the input, or an
  //         error (with the byte offset) for a cut-off or malformed input.
  virtual absl::StatusOr<bool> next(std::string* record, RecordLocation* location) = 0;
};

// A scanner for `format` over `in`, which must stay alive and unread by
// others while the scanner is used.
std::unique_ptr<RecordScanner> makeRecordScanner(TraceFormat format, std::istream& in);

}  // namespace tapshim::tap2pcap
