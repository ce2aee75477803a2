#include "tools/tap2pcap/output_file.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {
namespace {

constexpr size_t kStreamBufferBytes = 1 << 20;

// The temporary file to remove if SIGINT, SIGTERM or SIGHUP ends the run.
char g_temp_path[PATH_MAX];

void removeTempAndDie(int signal_number) {
  if (g_temp_path[0] != '\0') unlink(g_temp_path);
  ::signal(signal_number, SIG_DFL);
  raise(signal_number);
}

void watchSignals(const std::string& temp_path) {
  if (temp_path.size() >= sizeof(g_temp_path)) return;
  memcpy(g_temp_path, temp_path.c_str(), temp_path.size() + 1);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) ::signal(signal_number, removeTempAndDie);
}

void unwatchSignals() {
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) ::signal(signal_number, SIG_DFL);
  g_temp_path[0] = '\0';
}

}  // namespace

OutputFile::OutputFile(std::string path, std::string temp_path)
    : path_(std::move(path)), temp_path_(std::move(temp_path)) {}

absl::StatusOr<std::unique_ptr<OutputFile>> OutputFile::create(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string temp = absl::StrCat(directory, ".", name, ".tmp-XXXXXX");
  const int fd = mkstemp(temp.data());
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot create the capture: ", std::strerror(errno)));
  }
  close(fd);
  std::unique_ptr<OutputFile> file(new OutputFile(path, temp));
  watchSignals(temp);
  file->buffer_ = std::make_unique<char[]>(kStreamBufferBytes);
  file->stream_.rdbuf()->pubsetbuf(file->buffer_.get(), kStreamBufferBytes);
  file->stream_.open(temp, std::ios::binary | std::ios::trunc);
  if (!file->stream_) {
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot write the capture"));
  }
  return file;
}

OutputFile::~OutputFile() {
  if (!committed_) {
    stream_.close();
    unlink(temp_path_.c_str());
  }
  unwatchSignals();
}

absl::Status OutputFile::commit() {
  stream_.flush();
  const bool written = static_cast<bool>(stream_);
  stream_.close();
  if (!written || stream_.fail()) {
    return absl::DataLossError(absl::StrCat(path_, ": cannot write the capture (disk full?)"));
  }
  if (rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        path_, ": cannot rename the finished capture into place: ", std::strerror(errno)));
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace tapshim::tap2pcap
