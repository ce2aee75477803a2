#include "tap_core/base/block_allocator.h"

#include <new>

#include "tap_core/base/os.h"

namespace tapshim::core {

BlockAllocator& BlockAllocator::instance() {
  static BlockAllocator allocator;
  return allocator;
}

size_t BlockAllocator::classIndex(size_t size) {
  size_t shift = kMinShift;
  while ((size_t{1} << shift) < size) ++shift;
  return shift - kMinShift;
}

void* BlockAllocator::carve(size_t size) {
  if (region_end_ - region_next_ < static_cast<ptrdiff_t>(size)) {
    void* region = os::mapAnonymous(kRegionSize);
    if (region == nullptr) return nullptr;
    // The rest of the previous region is abandoned: at most one block.
    region_next_ = static_cast<char*>(region);
    region_end_ = region_next_ + kRegionSize;
  }
  void* block = region_next_;
  region_next_ += size;
  return block;
}

size_t BlockAllocator::capacityFor(size_t size) {
  if (size == 0) size = 1;
  if (size > (size_t{1} << kMaxShift)) return (size + 4095) & ~size_t{4095};
  return size_t{1} << (classIndex(size) + kMinShift);
}

BlockAllocator::Block BlockAllocator::allocate(size_t size) {
  if (size == 0) size = 1;
  if (size > (size_t{1} << kMaxShift)) {
    const size_t rounded = (size + 4095) & ~size_t{4095};
    void* data = os::mapAnonymous(rounded);
    return data == nullptr ? Block{} : Block{data, rounded};
  }
  const size_t index = classIndex(size);
  const size_t capacity = size_t{1} << (index + kMinShift);
  LockGuard lock(mutex_);
  if (FreeBlock* head = free_[index]) {
    free_[index] = head->next;
    return Block{head, capacity};
  }
  void* data = carve(capacity);
  return data == nullptr ? Block{} : Block{data, capacity};
}

void BlockAllocator::release(Block block) {
  if (block.data == nullptr) return;
  if (block.capacity > (size_t{1} << kMaxShift)) {
    os::unmap(block.data, block.capacity);
    return;
  }
  const size_t index = classIndex(block.capacity);
  LockGuard lock(mutex_);
  free_[index] = new (block.data) FreeBlock{free_[index]};
}

void BlockAllocator::forgetAfterFork() {
  mutex_.reinitialize();
  for (FreeBlock*& head : free_) head = nullptr;
  region_next_ = nullptr;
  region_end_ = nullptr;
}

}  // namespace tapshim::core
