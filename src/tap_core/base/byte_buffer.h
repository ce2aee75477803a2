// A growable byte buffer on BlockAllocator (no malloc on the record path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tap_core/base/block_allocator.h"

namespace tapshim::core {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ~ByteBuffer();
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  // Makes room for `extra` more bytes and returns where they go, or nullptr
  // when memory cannot be had (the buffer is then unchanged).
  uint8_t* grow(size_t extra);
  bool append(const void* data, size_t size);

  uint8_t* data() { return static_cast<uint8_t*>(block_.data); }
  const uint8_t* data() const { return static_cast<const uint8_t*>(block_.data); }
  size_t size() const { return size_; }
  std::string_view view() const { return {static_cast<const char*>(block_.data), size_}; }
  // Drops bytes past `size` (no-op if the buffer is not longer).
  void shrink(size_t size) {
    if (size < size_) size_ = size;
  }
  // Forgets the contents and gives the memory back.
  void reset();

 private:
  BlockAllocator::Block block_;
  size_t size_ = 0;
};

}  // namespace tapshim::core
