#include "tools/trace_reader/bracketed_record_scanner.h"

#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {
namespace {

constexpr size_t kChunkBytes = 1 << 16;

bool isOpening(char c, BracketedRecordScanner::Dialect dialect) {
  if (dialect == BracketedRecordScanner::Dialect::kJson) return c == '{' || c == '[';
  return c == '{' || c == '<';
}

bool isClosing(char c, BracketedRecordScanner::Dialect dialect) {
  if (dialect == BracketedRecordScanner::Dialect::kJson) return c == '}' || c == ']';
  return c == '}' || c == '>';
}

}  // namespace

BracketedRecordScanner::BracketedRecordScanner(std::istream& in, Dialect dialect)
    : in_(in), dialect_(dialect) {}

bool BracketedRecordScanner::refill() {
  buffer_offset_ += buffer_.size();
  buffer_.resize(kChunkBytes);
  in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.resize(static_cast<size_t>(in_.gcount()));
  position_ = 0;
  return !buffer_.empty();
}

absl::StatusOr<bool> BracketedRecordScanner::next(std::string* record, RecordLocation* location) {
  record->clear();
  const bool json = dialect_ == Dialect::kJson;
  uint64_t start = 0;
  bool started = false;
  int depth = 0;
  char quote = 0;  // the open string's quote character, or 0
  bool escaped = false;
  bool in_comment = false;
  while (true) {
    if (position_ == buffer_.size() && !refill()) break;
    const char c = buffer_[position_];
    const uint64_t offset = buffer_offset_ + position_;
    ++position_;
    if (!started) {
      if (in_comment) {
        if (c == '\n') in_comment = false;
        continue;
      }
      if (std::isspace(static_cast<unsigned char>(c))) continue;
      if (!json && c == '#') {
        in_comment = true;
        continue;
      }
      if (json && c != '{') {
        return absl::InvalidArgumentError(
            absl::StrCat("not a JSON trace: expected '{' at byte ", offset));
      }
      started = true;
      start = offset;
    }
    record->push_back(c);
    if (record->size() > kMaxRecordBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("the record at byte ", start, " is larger than 2 GiB"));
    }
    if (in_comment) {
      if (c == '\n') in_comment = false;
    } else if (quote != 0) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == quote || (!json && c == '\n')) {
        quote = 0;
      }
    } else if (c == '"' || (!json && c == '\'')) {
      quote = c;
    } else if (!json && c == '#') {
      in_comment = true;
    } else if (isOpening(c, dialect_)) {
      ++depth;
    } else if (isClosing(c, dialect_)) {
      if (depth == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("not a trace: unbalanced '", std::string(1, c), "' at byte ", offset));
      }
      if (--depth == 0) {
        location->offset = start;
        location->length = record->size();
        return true;
      }
    }
  }
  if (!started) return false;
  return absl::DataLossError(absl::StrCat("cut off, or not a trace: the record at byte ", start,
                                          " never closes its brackets"));
}

}  // namespace tapshim::tap2pcap
