// Protocol buffers wire encoding, just what trace messages need.
//
// Messages are written in one pass into a buffer of exactly the right
// size: a nested message is measured first (by running the same encoding
// code against a byte counter), so no temporary buffers are needed. A
// counting pass over the whole message records each nested message's size
// on a SizeTape, so that the writing pass reads them back instead of
// measuring every sub-message again at each level of nesting. The
// rules follow libprotobuf's serializer for proto3: fields in field-number
// order, scalars left out when they hold their default, except oneof
// members, which are written whenever they are set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

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

// The sizes of a message's nested messages, in the order their fields
// start: written by a counting pass, read back in the same order by the
// writing pass over the same message. Fixed capacity, so that it lives on
// the stack; a message with more nested messages is measured as it is
// written instead.
class SizeTape {
 public:
  static constexpr int kCapacity = 128;

  // Counting: a slot for the field starting now, or -1 when full.
  int reserve() {
    if (count_ == kCapacity) {
      overflowed_ = true;
      return -1;
    }
    return count_++;
  }
  void set(int slot, size_t size) { sizes_[slot] = size; }
  // Writing: whether every size was recorded, and the next one.
  bool complete() const { return !overflowed_; }
  size_t next() { return sizes_[read_++]; }

 private:
  size_t sizes_[kCapacity];
  int count_ = 0;
  int read_ = 0;
  bool overflowed_ = false;
};

// Counts bytes instead of writing them.
class ByteCounter {
 public:
  static constexpr bool kCounts = true;

  void putByte(uint8_t) { ++size_; }
  void putBytes(std::string_view bytes) { size_ += bytes.size(); }
  void putVarint(uint64_t value) { size_ += varintSize(value); }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

// Writes into memory the caller has sized with ByteCounter.
class ByteWriter {
 public:
  static constexpr bool kCounts = false;

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
  // `tape`: filled when Out counts, read when it writes (see SizeTape).
  explicit ProtoWriter(Out& out, SizeTape* tape = nullptr) : out_(out), tape_(tape) {}

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
  // output type. Counting, it runs once and its size goes on the tape.
  // Writing, its size comes from the tape or, without one, from running it
  // against a counter first; then it runs to write.
  template <typename Body>
  void messageField(uint32_t field, Body&& body) {
    if constexpr (Out::kCounts) {
      const int slot = tape_ != nullptr ? tape_->reserve() : -1;
      const size_t before = out_.size();
      body(*this);
      const size_t size = out_.size() - before;
      if (slot >= 0) tape_->set(slot, size);
      tag(field, kLengthDelimited);
      out_.putVarint(size);
    } else {
      size_t size;
      if (tape_ != nullptr && tape_->complete()) {
        size = tape_->next();
      } else {
        ByteCounter counter;
        ProtoWriter<ByteCounter> measure(counter);
        body(measure);
        size = counter.size();
      }
      tag(field, kLengthDelimited);
      out_.putVarint(size);
      body(*this);
    }
  }

 private:
  void tag(uint32_t field, WireType type) { out_.putVarint((uint64_t{field} << 3) | type); }

  Out& out_;
  SizeTape* tape_;
};

}  // namespace tapshim::core::wire
