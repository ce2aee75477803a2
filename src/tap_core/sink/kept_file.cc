#include "tap_core/sink/kept_file.h"

#include <cerrno>

#include "tap_core/base/os.h"

namespace tapshim::core {
namespace {

uint64_t storedInode(uint64_t inode) { return inode == 0 ? 1 : inode; }

}  // namespace

void KeptFile::keep(int fd, Clock& clock) {
  uint64_t device = 0, inode = 0;
  const bool verifiable = os::fileIdentity(fd, &device, &inode) == 0;
  verifiable_.store(verifiable, std::memory_order_relaxed);
  device_.store(device, std::memory_order_relaxed);
  checked_at_.store(clock.nowNanos(), std::memory_order_relaxed);
  inode_.store(storedInode(inode), std::memory_order_release);
}

bool KeptFile::stillOurs(int fd, Clock& clock) {
  const uint64_t inode = inode_.load(std::memory_order_acquire);
  if (inode == 0) return false;
  const int64_t now = clock.nowNanos();
  const int64_t checked_at = checked_at_.load(std::memory_order_relaxed);
  // A clock that went back counts as time passed.
  if (now >= checked_at && now - checked_at < kRecheckNanos) return true;
  if (!verifiable_.load(std::memory_order_relaxed)) return true;
  uint64_t current_device = 0, current_inode = 0;
  const long result = os::fileIdentity(fd, &current_device, &current_inode);
  // EBADF: closed behind the hooks; another error says nothing either way.
  if (result == -EBADF ||
      (result == 0 && (current_device != device_.load(std::memory_order_relaxed) ||
                       storedInode(current_inode) != inode))) {
    forget();
    return false;
  }
  checked_at_.store(now, std::memory_order_relaxed);
  return true;
}

}  // namespace tapshim::core
