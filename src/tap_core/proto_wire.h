// Protocol buffers wire encoding, just what trace messages need.
//
// Messages are written in one pass into a buffer of exactly the right
// size: a nested message is measured first (by running the same encoding
// code against a byte counter), so no temporary buffers are needed. The
// rules follow libprotobuf's serializer for proto3: fields in field-number
// order, scalars left out when they hold their default, except oneof
// members, which are written whenever they are set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace tapshim::core::wire {

enum WireType : uint32_t { kVarint = 0, kLengthDelimited = 2 };

inline size_t varintSize(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

// Counts bytes instead of writing them.
class ByteCounter {
 public:
  void putByte(uint8_t) { ++size_; }
  void putBytes(std::string_view bytes) { size_ += bytes.size(); }
  void putVarint(uint64_t value) { size_ += varintSize(value); }
  void add(size_t size) { size_ += size; }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

// Writes into memory the caller has sized with ByteCounter.
class ByteWriter {
 public:
  explicit ByteWriter(uint8_t* out) : next_(out) {}
  void putByte(uint8_t byte) { *next_++ = byte; }
  void putBytes(std::string_view bytes) {
    if (!bytes.empty()) std::memcpy(next_, bytes.data(), bytes.size());
    next_ += bytes.size();
  }
  void putVarint(uint64_t value) {
    while (value >= 0x80) {
      *next_++ = static_cast<uint8_t>(value | 0x80);
      value >>= 7;
    }
    *next_++ = static_cast<uint8_t>(value);
  }
  uint8_t* position() const { return next_; }

 private:
  uint8_t* next_;
};

template <typename Out>
class ProtoWriter {
 public:
  explicit ProtoWriter(Out& out) : out_(out) {}

  // Scalars without presence: written only when not the default.
  void uint64Field(uint32_t field, uint64_t value) {
    if (value != 0) uint64Always(field, value);
  }
  void int64Field(uint32_t field, int64_t value) {
    if (value != 0) uint64Always(field, static_cast<uint64_t>(value));
  }
  // int32 is sign-extended to 64 bits on the wire, as libprotobuf does.
  void int32Field(uint32_t field, int32_t value) {
    if (value != 0) uint64Always(field, static_cast<uint64_t>(static_cast<int64_t>(value)));
  }
  void boolField(uint32_t field, bool value) {
    if (value) uint64Always(field, 1);
  }
  void bytesField(uint32_t field, std::string_view value) {
    if (!value.empty()) bytesAlways(field, value);
  }

  // Oneof members and other fields with presence: always written.
  void uint64Always(uint32_t field, uint64_t value) {
    tag(field, kVarint);
    out_.putVarint(value);
  }
  void bytesAlways(uint32_t field, std::string_view value) {
    tag(field, kLengthDelimited);
    out_.putVarint(value.size());
    out_.putBytes(value);
  }

  // A sub-message; `body` is a generic lambda taking a ProtoWriter of any
  // output type. It runs once against a counter to learn the length, then,
  // unless this writer is itself counting, once more to write.
  template <typename Body>
  void messageField(uint32_t field, Body&& body) {
    ByteCounter counter;
    ProtoWriter<ByteCounter> measure(counter);
    body(measure);
    tag(field, kLengthDelimited);
    out_.putVarint(counter.size());
    if constexpr (std::is_same_v<Out, ByteCounter>) {
      out_.add(counter.size());
    } else {
      body(*this);
    }
  }

 private:
  void tag(uint32_t field, WireType type) { out_.putVarint((uint64_t{field} << 3) | type); }

  Out& out_;
};

}  // namespace tapshim::core::wire
