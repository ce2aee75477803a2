#include "tools/tap2pcap/live_output.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {
namespace {

// Large enough for most looks' packets in one write; a reader sees whole
// blocks either way, since a flush follows every look.
constexpr size_t kBufferBytes = 1 << 16;
constexpr int kFifoReaderLookMs = 50;

}  // namespace

LiveOutput::FdBuffer::FdBuffer(int fd) : fd_(fd) { buffer_.reserve(kBufferBytes); }

bool LiveOutput::FdBuffer::writeAll(const char* data, size_t size) {
  if (error_ != 0) return false;
  while (size > 0) {
    const ssize_t wrote = ::write(fd_, data, size);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) {
      error_ = errno;
      return false;
    }
    data += wrote;
    size -= static_cast<size_t>(wrote);
  }
  return true;
}

bool LiveOutput::FdBuffer::drain() {
  const bool ok = writeAll(buffer_.data(), buffer_.size());
  buffer_.clear();
  return ok;
}

LiveOutput::FdBuffer::int_type LiveOutput::FdBuffer::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  const char byte = traits_type::to_char_type(c);
  return xsputn(&byte, 1) == 1 ? c : traits_type::eof();
}

std::streamsize LiveOutput::FdBuffer::xsputn(const char* data, std::streamsize size) {
  if (error_ != 0) return 0;
  buffer_.append(data, static_cast<size_t>(size));
  if (buffer_.size() >= kBufferBytes && !drain()) return 0;
  return size;
}

LiveOutput::LiveOutput(std::string path, int fd, bool owned)
    : path_(std::move(path)), fd_(fd), owned_(owned), buffer_(fd), stream_(&buffer_) {}

LiveOutput::~LiveOutput() {
  buffer_.drain();
  if (owned_) close(fd_);
}

absl::StatusOr<std::unique_ptr<LiveOutput>> LiveOutput::open(
    const std::string& path, int stop_fd,
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (path == "-") {
    return std::unique_ptr<LiveOutput>(new LiveOutput("stdout", STDOUT_FILENO, false));
  }
  // O_NONBLOCK: a FIFO's open fails (ENXIO) instead of blocking while it
  // has no reader, so that SIGTERM and --duration still end the wait.
  int fd;
  while ((fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0600)) <
             0 &&
         errno == ENXIO) {
    if (deadline && std::chrono::steady_clock::now() >= *deadline) {
      return absl::CancelledError("no reader came");
    }
    pollfd stop = {stop_fd, POLLIN, 0};
    if (poll(&stop, 1, kFifoReaderLookMs) > 0) return absl::CancelledError("no reader came");
  }
  if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot open the capture: ", std::strerror(errno)));
  }
  struct stat info;
  // An existing file keeps its mode on open; a capture must not be readable
  // by others, as a new one would not be.
  if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && (info.st_mode & 077) != 0) {
    fchmod(fd, 0600);
  }
  return std::unique_ptr<LiveOutput>(new LiveOutput(path, fd, true));
}

absl::Status LiveOutput::flush() {
  if (buffer_.drain()) return absl::OkStatus();
  if (buffer_.error() == EPIPE) return absl::CancelledError("the reader closed the capture");
  return absl::DataLossError(
      absl::StrCat(path_, ": cannot write the capture: ", std::strerror(buffer_.error())));
}

}  // namespace tapshim::tap2pcap
