#include "tools/trace_reader/binary_record_scanner.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {
namespace {

// TraceWrapper's socket trace fields (wrapper.proto); 1 and 2 are Envoy's
// HTTP traces, which are not connections.
constexpr uint64_t kSocketBufferedTraceField = 3;
constexpr uint64_t kSocketStreamedSegmentField = 4;
constexpr uint64_t kLengthDelimitedWireType = 2;

uint64_t streamSize(std::istream& in) {
  const std::streampos start = in.tellg();
  in.seekg(0, std::ios::end);
  const std::streampos end = in.tellg();
  in.seekg(start);
  return start < 0 || end < start ? 0 : static_cast<uint64_t>(end - start);
}

}  // namespace

BinaryRecordScanner::BinaryRecordScanner(std::istream& in, bool delimited)
    : in_(in), delimited_(delimited), size_(streamSize(in)) {}

absl::StatusOr<bool> BinaryRecordScanner::readVarint(uint64_t* value, std::string* raw) {
  *value = 0;
  for (int i = 0; i < 10; ++i) {
    const int c = in_.get();
    if (c == std::char_traits<char>::eof()) {
      if (i == 0) return false;
      return absl::DataLossError(absl::StrCat("cut off inside a length at byte ", offset_));
    }
    ++offset_;
    if (raw != nullptr) raw->push_back(static_cast<char>(c));
    *value |= static_cast<uint64_t>(c & 0x7f) << (7 * i);
    if ((c & 0x80) == 0) return true;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not a trace: malformed varint at byte ", offset_ - 10));
}

absl::StatusOr<bool> BinaryRecordScanner::next(std::string* record, RecordLocation* location) {
  record->clear();
  const uint64_t start = offset_;
  if (!delimited_) {
    uint64_t tag = 0;
    absl::StatusOr<bool> got = readVarint(&tag, record);
    if (!got.ok() || !*got) return got;
    const uint64_t field = tag >> 3;
    if ((field != kSocketBufferedTraceField && field != kSocketStreamedSegmentField) ||
        (tag & 7) != kLengthDelimitedWireType) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not a socket trace: top-level field ", field, " (wire type ", tag & 7, ") at byte ",
          start, "; expected a socket_buffered_trace or socket_streamed_trace_segment"));
    }
  }
  uint64_t length = 0;
  absl::StatusOr<bool> got = readVarint(&length, delimited_ ? nullptr : record);
  if (!got.ok()) return got.status();
  if (!*got) {
    if (delimited_) return false;  // the clean end, between records
    return absl::DataLossError(absl::StrCat("cut off after the field tag at byte ", start));
  }
  const uint64_t header = offset_ - start;
  const uint64_t remaining = size_ > offset_ ? size_ - offset_ : 0;
  if (length > remaining) {
    return absl::DataLossError(absl::StrCat("cut off: the record at byte ", start, " needs ",
                                            length, " bytes, the file has ", remaining, " more"));
  }
  if (length + header > kMaxRecordBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the record at byte ", start, " is larger than 2 GiB"));
  }
  const size_t prefix = record->size();
  record->resize(prefix + length);
  if (!in_.read(record->data() + prefix, static_cast<std::streamsize>(length))) {
    return absl::DataLossError(absl::StrCat("cut off inside the record at byte ", start));
  }
  offset_ += length;
  // A delimited record is the message alone; a PROTO_BINARY record keeps its
  // tag and length, which makes it a TraceWrapper with one field.
  location->offset = delimited_ ? start + header : start;
  location->length = delimited_ ? length : header + length;
  return true;
}

}  // namespace tapshim::tap2pcap
