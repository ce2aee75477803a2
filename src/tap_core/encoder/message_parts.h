// An encoded message as parts for one writev(2): the small fields copied
// into a scratch buffer, each long bytes field (a program's data) left
// where it is and pointed at. The kernel copies the data once, into the
// file; user space never does.
//
// Encoding takes two passes, as proto_wire.h's does: PartsCounter learns
// how many bytes will be copied and how many parts there will be, the
// caller makes room for exactly that, then PartsWriter writes. Nothing
// grows while parts are recorded, so a part's address stays valid.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tap_core/base/byte_buffer.h"
#include "tap_core/encoder/proto_wire.h"
#include "tap_core/sink/sink.h"

namespace tapshim::core {

// The iovecs of one message, in a ByteBuffer that is kept and reused (no
// malloc on the record path, no per-connection array of Sink::kMaxParts).
class MessageParts {
 public:
  // Forgets the parts and makes room for `capacity` of them, keeping the
  // memory for the next message; false when memory is short.
  bool reset(size_t capacity) {
    count_ = 0;
    storage_.shrink(0);
    if (capacity == 0) return true;
    if (storage_.grow(capacity * sizeof(iovec)) == nullptr) return false;
    storage_.shrink(0);  // the capacity stays; add() fills it
    return true;
  }
  // Appends a part, within the capacity given to reset() (unchecked, as
  // ByteWriter is: the counting pass is what sizes both).
  void add(const void* data, size_t size) {
    parts()[count_++] = iovec{const_cast<void*>(data), size};
  }

  const iovec* data() const { return reinterpret_cast<const iovec*>(storage_.data()); }
  int count() const { return static_cast<int>(count_); }

 private:
  iovec* parts() { return reinterpret_cast<iovec*>(storage_.data()); }

  ByteBuffer storage_;
  size_t count_ = 0;
};

namespace wire {

// Which bytes fields are pointed at rather than copied. Both passes ask
// it the same questions in the same order, so they agree.
class ReferencePolicy {
 public:
  // Below this a field is copied: an iovec costs the kernel about as much
  // as copying a few hundred bytes (it is read, checked and walked), and
  // copying small data keeps a message of small events in one part.
  static constexpr size_t kMinReferencedBytes = 512;
  // Each reference takes two parts (the copied bytes before it, then the
  // data), and the copied bytes after the last one take one more.
  static constexpr int kMaxReferences = (Sink::kMaxParts - 1) / 2;

  // Whether to point at `size` bytes; past the budget, later fields are
  // copied.
  bool reference(size_t size) {
    if (size < kMinReferencedBytes || references_left_ == 0) return false;
    --references_left_;
    return true;
  }

 private:
  int references_left_ = kMaxReferences;
};

// Counts what PartsWriter will need for the same message.
class PartsCounter {
 public:
  static constexpr bool kCounts = true;
  void putByte(uint8_t) { ++copied_; }
  void putVarint(uint64_t value) { copied_ += varintSize(value); }
  void putBytes(std::string_view bytes) {
    if (policy_.reference(bytes.size())) {
      referenced_ += bytes.size();
      parts_ += 2;
    } else {
      copied_ += bytes.size();
    }
  }

  size_t copiedBytes() const { return copied_; }
  size_t totalBytes() const { return copied_ + referenced_; }
  size_t size() const { return totalBytes(); }  // what ProtoWriter measures
  // At most this many parts (a copied run may turn out empty).
  size_t maxParts() const { return parts_ + 1; }

 private:
  ReferencePolicy policy_;
  size_t copied_ = 0;
  size_t referenced_ = 0;
  size_t parts_ = 0;
};

// Writes into scratch memory sized by PartsCounter, and appends parts to
// `parts` (sized likewise): runs of copied bytes and referenced data.
class PartsWriter {
 public:
  static constexpr bool kCounts = false;

  PartsWriter(uint8_t* scratch, MessageParts* parts)
      : copied_(scratch), run_start_(scratch), parts_(parts) {}

  void putByte(uint8_t byte) { copied_.putByte(byte); }
  void putVarint(uint64_t value) { copied_.putVarint(value); }
  void putBytes(std::string_view bytes) {
    if (!policy_.reference(bytes.size())) {
      copied_.putBytes(bytes);
      return;
    }
    endRun();
    parts_->add(bytes.data(), bytes.size());
  }
  // Adds the bytes copied since the last reference as the final part.
  void finish() { endRun(); }

 private:
  void endRun() {
    uint8_t* end = copied_.position();
    if (end != run_start_) parts_->add(run_start_, static_cast<size_t>(end - run_start_));
    run_start_ = end;
  }

  ReferencePolicy policy_;
  ByteWriter copied_;
  uint8_t* run_start_;
  MessageParts* parts_;
};

}  // namespace wire
}  // namespace tapshim::core
