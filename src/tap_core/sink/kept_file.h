// The identity of a trace file whose fd a sink keeps open between
// messages, and whether that fd is still the sink's to write to.
//
// The program can take the number away: a daemon closes every fd, a
// program dup2()s onto it, close_range() sweeps it. Those calls go through
// the hooks, which tell the sink before the call runs (forget()), so that
// the check before each message costs no system call. What does not go
// through the hooks (syscall(SYS_close), io_uring, inline system calls) is
// caught by comparing the file's device and inode (fstat) with those
// recorded, at most every kRecheckNanos: a number taken over behind libc's
// back and given to a new file of the program's within that time is the one
// way trace bytes could still reach the program's file. Checking before
// every message closed that window too, at the cost of a third of the
// per-message time on small streamed events.
#pragma once

#include <atomic>
#include <cstdint>

#include "tap_core/base/clock.h"

namespace tapshim::core {

class KeptFile {
 public:
  static constexpr int64_t kRecheckNanos = 10'000'000;  // 10 ms

  // Starts keeping `fd`: records the identity of its file now. A process
  // that may not fstat (a seccomp filter) keeps it on the hooks' word alone:
  // giving it up would reopen the file at every message, leaking an fd each
  // time.
  void keep(int fd, Clock& clock);
  // Whether `fd` may be written as the kept file: it was not forgotten, and
  // the identity matches when the last check is kRecheckNanos old. A
  // mismatch forgets the file.
  bool stillOurs(int fd, Clock& clock);
  // The fd is not the sink's any more (the program closes it), or the sink
  // closed it itself.
  void forget() { inode_.store(0, std::memory_order_release); }
  bool kept() const { return inode_.load(std::memory_order_acquire) != 0; }

 private:
  std::atomic<uint64_t> device_{0};
  std::atomic<uint64_t> inode_{0};  // 0: nothing kept (an inode of 0 is stored as 1)
  std::atomic<int64_t> checked_at_{0};
  std::atomic<bool> verifiable_{false};  // fstat worked when it was kept
};

}  // namespace tapshim::core
