// The capture file, written under a temporary name beside OUT and renamed
// to OUT only when complete, so a failed or interrupted conversion never
// leaves a partial capture (nor replaces a good one). The file is created
// mode 0600: captures of TLS plaintext hold secrets, as the traces do.
#pragma once

#include <fstream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace tapshim::tap2pcap {

class OutputFile {
 public:
  static absl::StatusOr<std::unique_ptr<OutputFile>> create(const std::string& path);
  ~OutputFile();  // removes the temporary file unless committed

  std::ostream& stream() { return stream_; }
  // Flushes, closes and renames the file to its final name.
  absl::Status commit();

 private:
  OutputFile(std::string path, std::string temp_path);

  const std::string path_;
  const std::string temp_path_;
  std::ofstream stream_;
  std::unique_ptr<char[]> buffer_;
  bool committed_ = false;
};

}  // namespace tapshim::tap2pcap
