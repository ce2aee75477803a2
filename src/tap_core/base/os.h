// src/tap_core/base/: what every layer of the tap core may use, and which
// includes nothing of the tap core itself: raw system calls (os.h, this
// file), the lock, the clock, stderr diagnostics, the block allocator and
// the byte buffer built on it. Nothing here knows of sockets, traces or
// formats; anything that must be safe inside a hook (no errno, no libc
// function the shim hooks, no malloc on the record path) starts here.
//
// Raw system calls for tap_core's own I/O.
//
// The preload library exports read, write, close and friends, so any call
// from tap_core to those libc functions would re-enter the shim's hooks.
// Everything tap_core does to the operating system goes through these
// wrappers, which issue the system call directly. They return -errno on
// failure instead of touching errno, so the host program's errno is never
// disturbed by the shim's work.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tapshim::core::os {

// Each returns the syscall's result, or -errno.
long openFile(const char* path, int flags, int mode);
// openat(2): `path` relative to the directory `directory_fd`.
long openAt(int directory_fd, const char* path, int flags, int mode);
long closeFd(int fd);
long writeSome(int fd, const void* data, size_t size);
// Writes everything, retrying short writes and EINTR. Returns 0 or -errno.
long writeAll(int fd, const void* data, size_t size);
// writev(2) of `count` parts (at most kMaxWriteParts), then, after a short
// write, the rest part by part. Returns 0 or -errno; *written (if given)
// becomes the bytes that reached the file, also when it fails part way.
constexpr int kMaxWriteParts = 1024;  // IOV_MAX
long writeAllParts(int fd, const struct iovec* parts, int count, size_t* written = nullptr);
// pread(2): up to `size` bytes of `fd` at `offset`.
long readAt(int fd, void* data, size_t size, int64_t offset);
// The file position of `fd` (lseek(fd, 0, SEEK_CUR)), or -errno.
long filePosition(int fd);
// fcntl(fd, F_DUPFD_CLOEXEC, minimum): a copy of `fd` at `minimum` or above.
long duplicateAtLeast(int fd, int minimum);
// The device and inode of the file behind `fd` (fstat). Returns 0 or -errno.
long fileIdentity(int fd, uint64_t* device, uint64_t* inode);
// The owner, mode (type and permission bits) and link count of the file
// behind `fd` (fstat). Returns 0 or -errno.
long fileOwnership(int fd, unsigned* owner, unsigned* mode, uint64_t* links);
// The device and inode of the file `path` names, not following a symlink
// (fstatat with AT_SYMLINK_NOFOLLOW). Returns 0 or -errno.
long pathIdentity(const char* path, uint64_t* device, uint64_t* inode);
// Who holds a write lock on `fd`'s file (fcntl F_GETLK over the whole
// file): that process's pid, 0 when nobody does, or -errno.
long writeLockHolder(int fd);
// The soft limit on open fds (RLIMIT_NOFILE), or -errno.
long openFileLimit();
// The soft limit on the size of a file the process writes (RLIMIT_FSIZE),
// in bytes; UINT64_MAX for none. Returns 0 or -errno.
long fileSizeLimit(uint64_t* bytes);
// The size of the file behind `fd` (fstat). Returns 0 or -errno.
long fileSize(int fd, uint64_t* bytes);
// ftruncate(2). Returns 0 or -errno.
long truncateFile(int fd, uint64_t length);
// unlink(2). Returns 0 or -errno.
long removeFile(const char* path);
// The size of the file `path` names, not following a symlink (fstatat
// with AT_SYMLINK_NOFOLLOW). Returns 0, -EINVAL when it is not a regular
// file, or -errno.
long regularFileSize(const char* path, uint64_t* bytes);
// statfs(2) of the file system holding `path`: the bytes an unprivileged
// process may still use (f_bavail) and its size (f_blocks). Returns 0 or
// -errno.
long fileSystemSpace(const char* path, uint64_t* available, uint64_t* total);
long socketOption(int fd, int level, int name, int* value);
// getsockopt(2) into `size` bytes at `value`; *size becomes the length the
// kernel wrote. Returns 0 or -errno.
long socketOptionBytes(int fd, int level, int name, void* value, socklen_t* size);
// ioctl(2) with an int result (SIOCINQ, SIOCOUTQ). Returns 0 or -errno.
long ioctlInt(int fd, unsigned long request, int* value);
long localAddress(int fd, sockaddr_storage* address, socklen_t* length);
long peerAddress(int fd, sockaddr_storage* address, socklen_t* length);
// Fills `size` bytes from the kernel's random source. Returns 0 or -errno.
long randomBytes(void* data, size_t size);
void* mapAnonymous(size_t size);  // nullptr on failure
void unmap(void* address, size_t size);
int processId();
// The effective user and group the kernel checks file access against.
unsigned effectiveUserId();
unsigned effectiveGroupId();
// The calling process's name (comm), at most 15 characters plus NUL.
void processName(char (&name)[16]);
// A static English description of errno value `error` (no allocation, no
// locale), or "unknown error".
const char* errorText(int error);
// Wall-clock time in nanoseconds since the epoch.
int64_t wallClockNanos();

}  // namespace tapshim::core::os
