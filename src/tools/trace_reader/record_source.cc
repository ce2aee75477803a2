#include "tools/trace_reader/record_source.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {

std::ifstream* FileRecordSource::open(size_t input) {
  for (auto it = open_files_.begin(); it != open_files_.end(); ++it) {
    if (it->input == input) {
      open_files_.splice(open_files_.begin(), open_files_, it);
      return open_files_.front().stream.get();
    }
  }
  auto stream = std::make_unique<std::ifstream>(paths_[input], std::ios::binary);
  if (!*stream) return nullptr;
  if (open_files_.size() >= kMaxOpenFiles) open_files_.pop_back();
  open_files_.push_front(OpenFile{input, std::move(stream)});
  return open_files_.front().stream.get();
}

absl::StatusOr<std::string> FileRecordSource::read(size_t input, const RecordLocation& location) {
  std::ifstream* stream = open(input);
  if (stream == nullptr) return absl::NotFoundError("cannot open the file again");
  std::string record(location.length, '\0');
  stream->clear();
  stream->seekg(static_cast<std::streamoff>(location.offset));
  if (!stream->read(record.data(), static_cast<std::streamsize>(record.size()))) {
    return absl::DataLossError(
        absl::StrCat("the file changed while it was read (byte ", location.offset, ")"));
  }
  return record;
}

absl::StatusOr<std::string> MemoryRecordSource::read(size_t input, const RecordLocation& location) {
  const std::string& content = contents_.at(input);
  if (location.offset > content.size() || location.length > content.size() - location.offset) {
    return absl::OutOfRangeError("record outside its input");
  }
  return content.substr(location.offset, location.length);
}

}  // namespace tapshim::tap2pcap
