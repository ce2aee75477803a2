#include "tap_core/base/os.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tap_core/base/load_time.h"

namespace tapshim::core::os {
namespace {

// syscall(2) reports failure through errno; turn that into -errno and put
// the caller's errno back, so that no shim work is visible to the host.
long rawSyscall(long number, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0,
                long f = 0) {
  const int saved = errno;
  long result = syscall(number, a, b, c, d, e, f);
  if (result == -1) result = -errno;
  errno = saved;
  return result;
}

}  // namespace

long openFile(const char* path, int flags, int mode) {
  return rawSyscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), flags, mode);
}

long openAt(int directory_fd, const char* path, int flags, int mode) {
  return rawSyscall(SYS_openat, directory_fd, reinterpret_cast<long>(path), flags, mode);
}

long closeFd(int fd) { return rawSyscall(SYS_close, fd); }

long writeSome(int fd, const void* data, size_t size) {
  return rawSyscall(SYS_write, fd, reinterpret_cast<long>(data), static_cast<long>(size));
}

long writeAll(int fd, const void* data, size_t size) {
  const char* next = static_cast<const char*>(data);
  while (size > 0) {
    long written = writeSome(fd, next, size);
    if (written == -EINTR) continue;
    if (written < 0) return written;
    if (written == 0) return -EIO;
    next += written;
    size -= static_cast<size_t>(written);
  }
  return 0;
}

namespace {

// writeAll that counts what reached the file into *written.
long writeAllCounting(int fd, const void* data, size_t size, size_t* written) {
  const char* next = static_cast<const char*>(data);
  while (size > 0) {
    const long result = writeSome(fd, next, size);
    if (result == -EINTR) continue;
    if (result < 0) return result;
    if (result == 0) return -EIO;
    next += result;
    size -= static_cast<size_t>(result);
    *written += static_cast<size_t>(result);
  }
  return 0;
}

}  // namespace

long writeAllParts(int fd, const struct iovec* parts, int count, size_t* written) {
  size_t ignored = 0;
  size_t& total = written != nullptr ? *written : ignored;
  total = 0;
  if (count > kMaxWriteParts) return -EINVAL;
  // write(2) costs less than writev(2) of one part (no iovec to copy in).
  if (count == 1) return writeAllCounting(fd, parts[0].iov_base, parts[0].iov_len, &total);
  long result;
  do {
    result = rawSyscall(SYS_writev, fd, reinterpret_cast<long>(parts), count);
  } while (result == -EINTR);
  if (result < 0) return result;
  total = static_cast<size_t>(result);
  // A regular file writes short only when it runs out of space: finish
  // part by part (the next write reports the error).
  size_t done = static_cast<size_t>(result);
  for (int i = 0; i < count; ++i) {
    if (done >= parts[i].iov_len) {
      done -= parts[i].iov_len;
      continue;
    }
    const long rest = writeAllCounting(fd, static_cast<const char*>(parts[i].iov_base) + done,
                                       parts[i].iov_len - done, &total);
    if (rest < 0) return rest;
    done = 0;
  }
  return 0;
}

long readAt(int fd, void* data, size_t size, int64_t offset) {
  return rawSyscall(SYS_pread64, fd, reinterpret_cast<long>(data), static_cast<long>(size), offset);
}

long filePosition(int fd) { return rawSyscall(SYS_lseek, fd, 0, SEEK_CUR); }

long duplicateAtLeast(int fd, int minimum) {
  return rawSyscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, minimum);
}

long fileOwnership(int fd, unsigned* owner, unsigned* mode, uint64_t* links) {
  struct stat status {};
  const long result = rawSyscall(SYS_fstat, fd, reinterpret_cast<long>(&status));
  if (result != 0) return result;
  *owner = status.st_uid;
  *mode = status.st_mode;
  *links = status.st_nlink;
  return 0;
}

long pathIdentity(const char* path, uint64_t* device, uint64_t* inode) {
  struct stat status {};
  const long result = rawSyscall(SYS_newfstatat, AT_FDCWD, reinterpret_cast<long>(path),
                                 reinterpret_cast<long>(&status), AT_SYMLINK_NOFOLLOW);
  if (result != 0) return result;
  *device = status.st_dev;
  *inode = status.st_ino;
  return 0;
}

long writeLockHolder(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;
  const long result = rawSyscall(SYS_fcntl, fd, F_GETLK, reinterpret_cast<long>(&lock));
  if (result != 0) return result;
  return lock.l_type == F_UNLCK ? 0 : lock.l_pid;
}

long fileIdentity(int fd, uint64_t* device, uint64_t* inode) {
  struct stat status {};
  const long result = rawSyscall(SYS_fstat, fd, reinterpret_cast<long>(&status));
  if (result != 0) return result;
  *device = status.st_dev;
  *inode = status.st_ino;
  return 0;
}

TAPSHIM_LOAD_TIME long openFileLimit() {
  struct rlimit limit {};
  const long result =
      rawSyscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, reinterpret_cast<long>(&limit));
  if (result != 0) return result;
  return limit.rlim_cur > 0x40000000 ? 0x40000000 : static_cast<long>(limit.rlim_cur);
}

long fileSizeLimit(uint64_t* bytes) {
  struct rlimit limit {};
  const long result = rawSyscall(SYS_prlimit64, 0, RLIMIT_FSIZE, 0, reinterpret_cast<long>(&limit));
  if (result != 0) return result;
  *bytes = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(limit.rlim_cur);
  return 0;
}

long fileSize(int fd, uint64_t* bytes) {
  struct stat status {};
  const long result = rawSyscall(SYS_fstat, fd, reinterpret_cast<long>(&status));
  if (result != 0) return result;
  *bytes = static_cast<uint64_t>(status.st_size);
  return 0;
}

long truncateFile(int fd, uint64_t length) {
  return rawSyscall(SYS_ftruncate, fd, static_cast<long>(length));
}

long removeFile(const char* path) {
  return rawSyscall(SYS_unlinkat, AT_FDCWD, reinterpret_cast<long>(path), 0);
}

long regularFileSize(const char* path, uint64_t* bytes) {
  struct stat status {};
  const long result = rawSyscall(SYS_newfstatat, AT_FDCWD, reinterpret_cast<long>(path),
                                 reinterpret_cast<long>(&status), AT_SYMLINK_NOFOLLOW);
  if (result != 0) return result;
  if (!S_ISREG(status.st_mode)) return -EINVAL;
  *bytes = static_cast<uint64_t>(status.st_size);
  return 0;
}

long fileSystemSpace(const char* path, uint64_t* available, uint64_t* total) {
  struct statfs status {};
  const long result =
      rawSyscall(SYS_statfs, reinterpret_cast<long>(path), reinterpret_cast<long>(&status));
  if (result != 0) return result;
  const uint64_t unit =
      static_cast<uint64_t>(status.f_frsize != 0 ? status.f_frsize : status.f_bsize);
  *available = static_cast<uint64_t>(status.f_bavail) * unit;
  *total = static_cast<uint64_t>(status.f_blocks) * unit;
  return 0;
}

long socketOption(int fd, int level, int name, int* value) {
  socklen_t length = sizeof(*value);
  return rawSyscall(SYS_getsockopt, fd, level, name, reinterpret_cast<long>(value),
                    reinterpret_cast<long>(&length));
}

long socketOptionBytes(int fd, int level, int name, void* value, socklen_t* size) {
  return rawSyscall(SYS_getsockopt, fd, level, name, reinterpret_cast<long>(value),
                    reinterpret_cast<long>(size));
}

long ioctlInt(int fd, unsigned long request, int* value) {
  return rawSyscall(SYS_ioctl, fd, static_cast<long>(request), reinterpret_cast<long>(value));
}

long localAddress(int fd, sockaddr_storage* address, socklen_t* length) {
  *length = sizeof(*address);
  return rawSyscall(SYS_getsockname, fd, reinterpret_cast<long>(address),
                    reinterpret_cast<long>(length));
}

long peerAddress(int fd, sockaddr_storage* address, socklen_t* length) {
  *length = sizeof(*address);
  return rawSyscall(SYS_getpeername, fd, reinterpret_cast<long>(address),
                    reinterpret_cast<long>(length));
}

long randomBytes(void* data, size_t size) {
  char* next = static_cast<char*>(data);
  while (size > 0) {
    long got = rawSyscall(SYS_getrandom, reinterpret_cast<long>(next), static_cast<long>(size), 0);
    if (got == -EINTR) continue;
    if (got <= 0) return got < 0 ? got : -EIO;
    next += got;
    size -= static_cast<size_t>(got);
  }
  return 0;
}

void* mapAnonymous(size_t size) {
  long result = rawSyscall(SYS_mmap, 0, static_cast<long>(size), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (result < 0 && result > -4096) return nullptr;
  return reinterpret_cast<void*>(result);
}

void unmap(void* address, size_t size) {
  rawSyscall(SYS_munmap, reinterpret_cast<long>(address), static_cast<long>(size));
}

TAPSHIM_LOAD_TIME int processId() { return static_cast<int>(rawSyscall(SYS_getpid)); }

unsigned effectiveUserId() { return static_cast<unsigned>(rawSyscall(SYS_geteuid)); }

unsigned effectiveGroupId() { return static_cast<unsigned>(rawSyscall(SYS_getegid)); }

TAPSHIM_LOAD_TIME void processName(char (&name)[16]) {
  std::memset(name, 0, sizeof(name));
  rawSyscall(SYS_prctl, PR_GET_NAME, reinterpret_cast<long>(name));
  name[15] = '\0';
}

const char* errorText(int error) {
  const char* text = strerrordesc_np(error);
  return text != nullptr ? text : "unknown error";
}

int64_t wallClockNanos() {
  // clock_gettime goes through the vDSO and is not hooked.
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

}  // namespace tapshim::core::os
