#include "preload/rendezvous.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "tap_core/base/os.h"

namespace tapshim::preload::rendezvous {
namespace {

namespace os = core::os;

// Appends `text` at `*length`; false when it does not fit.
bool append(char (&path)[kPathMax], size_t* length, std::string_view text) {
  if (*length + text.size() + 1 > kPathMax) return false;
  std::memcpy(path + *length, text.data(), text.size());
  *length += text.size();
  path[*length] = '\0';
  return true;
}

bool appendNumber(char (&path)[kPathMax], size_t* length, unsigned value) {
  char digits[12];
  size_t count = 0;
  do {
    digits[sizeof(digits) - 1 - count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  return append(path, length, std::string_view(digits + sizeof(digits) - count, count));
}

bool isPrivateDirectory(int fd, unsigned euid) {
  unsigned owner = 0, mode = 0;
  uint64_t links = 0;
  if (os::fileOwnership(fd, &owner, &mode, &links) != 0) return false;
  return S_ISDIR(mode) && owner == euid && (mode & 07777) == 0700;
}

}  // namespace

bool directoryPath(std::string_view runtime_dir, unsigned euid, char (&path)[kPathMax]) {
  size_t length = 0;
  path[0] = '\0';
  if (!runtime_dir.empty() && runtime_dir[0] == '/' && runtime_dir.size() < kPathMax - 16 &&
      append(path, &length, runtime_dir)) {
    const long fd = os::openFile(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    const bool usable = fd >= 0 && isPrivateDirectory(static_cast<int>(fd), euid);
    if (fd >= 0) os::closeFd(static_cast<int>(fd));
    if (usable) return append(path, &length, "/tapshim");
  }
  length = 0;
  return append(path, &length, "/tmp/tapshim-") && appendNumber(path, &length, euid);
}

long openPrivateDirectory(int at, const char* path, unsigned euid) {
  const long fd = os::openAt(at, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  if (isPrivateDirectory(static_cast<int>(fd), euid)) return fd;
  os::closeFd(static_cast<int>(fd));
  return -EPERM;
}

bool isPrivateFile(int fd, unsigned euid) {
  unsigned owner = 0, mode = 0;
  uint64_t links = 0;
  if (os::fileOwnership(fd, &owner, &mode, &links) != 0) return false;
  return S_ISREG(mode) && owner == euid && (mode & 077) == 0 && links == 1;
}

}  // namespace tapshim::preload::rendezvous
