// The events of one trace, kept in a single ByteBuffer: a fixed header per
// event followed by its data, so that recording never calls malloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tap_core/base/byte_buffer.h"
#include "tap_core/trace/trace_types.h"

namespace tapshim::core {

enum class EventKind : uint8_t { kRead = 0, kWrite = 1, kClosed = 2 };

struct EventView {
  int64_t timestamp_ns = 0;
  EventKind kind = EventKind::kRead;
  std::string_view data;
  bool truncated = false;
  bool end_stream = false;
  uint64_t seq_num = 0;
};

class EventLog {
 public:
  // Appends an event whose data is the first `kept` bytes of `slices`.
  // Returns false (and appends nothing) when memory cannot be had.
  bool append(int64_t timestamp_ns, EventKind kind, const IoSlices& slices, size_t kept,
              bool truncated, bool end_stream, uint64_t seq_num = 0);
  bool append(const EventView& event);
  // Sets end_stream on the newest event if it is a write.
  void markLastWriteEndStream();
  // The bytes of data the events hold together.
  uint64_t dataBytes() const;
  // Keeps the oldest events while their data adds up to at most `bytes`:
  // the event that crosses keeps what fits (nothing, when the budget is
  // used up exactly) and is marked truncated; later ones are dropped.
  // cut[kRead], cut[kWrite] are set for each direction that lost bytes. A
  // trace cut where its file ends (the file size limit), in time order,
  // unlike Envoy's per-direction budgets.
  void keepFirstBytes(uint64_t bytes, bool (&cut)[2]);

  size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  void clear();
  // Forgets the events but keeps the memory for the next ones (a batch
  // that fills again).
  void forgetKeepingMemory();

  template <typename Visitor>
  void forEach(Visitor&& visit) const {
    size_t offset = 0;
    while (offset < buffer_.size()) {
      const Header* header = reinterpret_cast<const Header*>(buffer_.data() + offset);
      EventView event;
      event.timestamp_ns = header->timestamp_ns;
      event.kind = static_cast<EventKind>(header->kind);
      event.data = std::string_view(
          reinterpret_cast<const char*>(buffer_.data() + offset + sizeof(Header)), header->length);
      event.truncated = header->flags & kTruncated;
      event.end_stream = header->flags & kEndStream;
      event.seq_num = header->seq_num;
      visit(event);
      offset += recordSize(header->length);
    }
  }

 private:
  struct Header {
    int64_t timestamp_ns;
    uint64_t seq_num;
    uint32_t length;
    uint8_t kind;
    uint8_t flags;
    uint16_t reserved;
  };
  static constexpr uint8_t kTruncated = 1;
  static constexpr uint8_t kEndStream = 2;
  static size_t recordSize(size_t length) { return (sizeof(Header) + length + 7) & ~size_t{7}; }

  ByteBuffer buffer_;
  size_t count_ = 0;
  size_t last_offset_ = 0;
};

}  // namespace tapshim::core
