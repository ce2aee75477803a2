// A fresh directory for a test that writes real files, removed afterwards,
// and whole-file reads and writes for checking them.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace tapshim::testing {

class TempDirectory {
 public:
  explicit TempDirectory(const std::string& name) {
    std::string pattern = (std::filesystem::temp_directory_path() / (name + "_XXXXXX")).string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDirectory() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;

  // Empty when mkdtemp failed.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

inline void writeFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

// What a program does to a sink's fd when it closes every fd and opens a
// file of its own that gets the same number (dup2 stands for "the lowest
// free number happened to be that one"): `own` is created empty and put at
// `fd`. Returns fd, or -1.
inline int takeOverFd(int fd, const std::filesystem::path& own) {
  const int program_fd = ::open(own.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (program_fd < 0) return -1;
  const int result = dup2(program_fd, fd);
  ::close(program_fd);
  return result;
}

}  // namespace tapshim::testing
