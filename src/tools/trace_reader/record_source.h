// Reads records again by location, for the second pass.
#pragma once

#include <fstream>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::tap2pcap {

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  virtual absl::StatusOr<std::string> read(size_t input, const RecordLocation& location) = 0;
};

// Records of files on disk. Keeps a few files open (least recently used
// first to go), so that thousands of inputs stay under the fd limit and
// a streamed trace of many records does not reopen its file each time.
class FileRecordSource : public RecordSource {
 public:
  explicit FileRecordSource(std::vector<std::string> paths) : paths_(std::move(paths)) {}

  // RecordSource
  absl::StatusOr<std::string> read(size_t input, const RecordLocation& location) override;

 private:
  static constexpr size_t kMaxOpenFiles = 32;
  struct OpenFile {
    size_t input;
    std::unique_ptr<std::ifstream> stream;
  };

  std::ifstream* open(size_t input);

  const std::vector<std::string> paths_;
  std::list<OpenFile> open_files_;  // most recently used first
};

// Records of inputs held in memory (tests, the fuzzer).
class MemoryRecordSource : public RecordSource {
 public:
  explicit MemoryRecordSource(std::vector<std::string> contents) : contents_(std::move(contents)) {}

  // RecordSource
  absl::StatusOr<std::string> read(size_t input, const RecordLocation& location) override;

 private:
  const std::vector<std::string> contents_;
};

}  // namespace tapshim::tap2pcap
