#include "tap_core/base/byte_buffer.h"

#include <cstring>

namespace tapshim::core {

ByteBuffer::~ByteBuffer() { reset(); }

uint8_t* ByteBuffer::grow(size_t extra) {
  if (block_.capacity - size_ < extra) {
    size_t wanted = block_.capacity == 0 ? 256 : block_.capacity * 2;
    while (wanted - size_ < extra) wanted *= 2;
    BlockAllocator::Block bigger = BlockAllocator::instance().allocate(wanted);
    if (bigger.data == nullptr) return nullptr;
    if (size_ > 0) std::memcpy(bigger.data, block_.data, size_);
    BlockAllocator::instance().release(block_);
    block_ = bigger;
  }
  uint8_t* end = data() + size_;
  size_ += extra;
  return end;
}

bool ByteBuffer::append(const void* bytes, size_t size) {
  if (size == 0) return true;  // grow(0) on an empty buffer has no address to give
  uint8_t* destination = grow(size);
  if (destination == nullptr) return false;
  if (size > 0) std::memcpy(destination, bytes, size);
  return true;
}

void ByteBuffer::reset() {
  BlockAllocator::instance().release(block_);
  block_ = {};
  size_ = 0;
}

}  // namespace tapshim::core
