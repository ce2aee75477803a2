#include "tools/trace_reader/record_tail.h"

#include <cctype>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tools/trace_reader/record_scanner.h"

namespace tapshim::tap2pcap {

absl::Status RecordTail::takeRecords(const std::function<void(const std::string&)>& each) {
  if (pending_.empty()) return absl::OkStatus();
  // One scan over a copy of what is pending: the scanners read streams, and
  // what is pending is a few messages at most between two looks.
  std::istringstream in(pending_);
  std::unique_ptr<RecordScanner> scanner = makeRecordScanner(format_, in);
  std::string record;
  RecordLocation location;
  uint64_t taken = 0;
  absl::Status status;
  while (true) {
    absl::StatusOr<bool> got = scanner->next(&record, &location);
    if (got.ok() && *got) {
      taken = location.offset + location.length;
      each(record);
      continue;
    }
    // Cut off: the writer has not finished the record yet. The clean end:
    // nothing, or only blank space, is left.
    if (!got.ok() && got.status().code() != absl::StatusCode::kDataLoss) {
      status = absl::Status(got.status().code(),
                            consumed_ == 0
                                ? got.status().message()
                                : absl::StrCat(got.status().message(), " (counting from byte ",
                                               consumed_, " of the file)"));
    }
    break;
  }
  pending_.erase(0, taken);
  consumed_ += taken;
  return status;
}

bool RecordTail::holdsPartialRecord() const {
  if (isBinaryFormat(format_)) return !pending_.empty();
  for (char c : pending_) {
    if (!std::isspace(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

}  // namespace tapshim::tap2pcap
