// Memory for recorded bytes, taken from the kernel with mmap.
//
// Hooks may run inside a signal handler that interrupted the host's malloc
// (write(2) is async-signal-safe, so programs do call it there). Recording
// must therefore never call malloc: this allocator hands out power-of-two
// blocks carved from mmap'd regions, under its own lock, which only the
// shim takes (and the per-thread reentry guard keeps a thread from taking
// it twice).
#pragma once

#include <cstddef>

#include "tap_core/base/lock.h"

namespace tapshim::core {

class BlockAllocator {
 public:
  struct Block {
    void* data = nullptr;
    size_t capacity = 0;
  };

  // Returns a block of at least `size` bytes, or an empty block when the
  // kernel refuses memory.
  Block allocate(size_t size);
  // The capacity allocate(size) gives (so a caller that knows the size it
  // asked for can give the block back).
  static size_t capacityFor(size_t size);
  // Gives back a block returned by allocate().
  void release(Block block);

  // In a forked child: start afresh without touching the parent's state,
  // which another thread may have been changing at the time of the fork.
  // The parent's blocks stay mapped, unused, in the child.
  void forgetAfterFork();

  static BlockAllocator& instance();

 private:
  static constexpr size_t kMinShift = 6;   // 64 bytes
  static constexpr size_t kMaxShift = 20;  // 1 MiB; larger blocks are mapped alone
  static constexpr size_t kRegionSize = size_t{1} << 21;
  static constexpr size_t kClasses = kMaxShift - kMinShift + 1;

  struct FreeBlock {
    FreeBlock* next;
  };

  static size_t classIndex(size_t size);
  void* carve(size_t size);

  Mutex mutex_;
  FreeBlock* free_[kClasses] = {};
  char* region_next_ = nullptr;
  char* region_end_ = nullptr;
};

}  // namespace tapshim::core
