#include "tap_core/trace/event_log.h"

namespace tapshim::core {

bool EventLog::append(int64_t timestamp_ns, EventKind kind, const IoSlices& slices, size_t kept,
                      bool truncated, bool end_stream, uint64_t seq_num) {
  const size_t offset = buffer_.size();
  uint8_t* record = buffer_.grow(recordSize(kept));
  if (record == nullptr) return false;
  Header header{};
  header.timestamp_ns = timestamp_ns;
  header.seq_num = seq_num;
  header.length = static_cast<uint32_t>(kept);
  header.kind = static_cast<uint8_t>(kind);
  header.flags = (truncated ? kTruncated : 0) | (end_stream ? kEndStream : 0);
  const size_t copied = slices.copyPrefix(record + sizeof(Header), kept);
  if (copied < kept) {
    // A file shrank under sendfile: keep what could be read, marked cut.
    header.length = static_cast<uint32_t>(copied);
    header.flags |= kTruncated;
    buffer_.shrink(offset + recordSize(copied));
  }
  *reinterpret_cast<Header*>(record) = header;
  last_offset_ = offset;
  ++count_;
  return true;
}

bool EventLog::append(const EventView& event) {
  iovec slice{const_cast<char*>(event.data.data()), event.data.size()};
  return append(event.timestamp_ns, event.kind, IoSlices(&slice, 1, event.data.size()),
                event.data.size(), event.truncated, event.end_stream, event.seq_num);
}

void EventLog::markLastWriteEndStream() {
  if (count_ == 0) return;
  Header* header = reinterpret_cast<Header*>(buffer_.data() + last_offset_);
  if (header->kind == static_cast<uint8_t>(EventKind::kWrite)) header->flags |= kEndStream;
}

uint64_t EventLog::dataBytes() const {
  uint64_t total = 0;
  forEach([&](const EventView& event) { total += event.data.size(); });
  return total;
}

void EventLog::keepFirstBytes(uint64_t bytes, bool (&cut)[2]) {
  auto noteCut = [&](const Header& header) {
    if (header.kind <= static_cast<uint8_t>(EventKind::kWrite)) cut[header.kind] = true;
  };
  uint64_t used = 0;
  size_t kept = 0;
  size_t kept_end = 0;
  size_t last = last_offset_;
  bool crossed = false;
  for (size_t offset = 0; offset < buffer_.size();) {
    Header* header = reinterpret_cast<Header*>(buffer_.data() + offset);
    const size_t next = offset + recordSize(header->length);
    if (crossed) {
      noteCut(*header);
    } else if (used + header->length <= bytes) {
      used += header->length;
      ++kept;
      last = offset;
      kept_end = next;
    } else {
      header->length = static_cast<uint32_t>(bytes - used);
      header->flags = static_cast<uint8_t>((header->flags | kTruncated) & ~kEndStream);
      noteCut(*header);
      ++kept;
      last = offset;
      kept_end = offset + recordSize(header->length);
      crossed = true;
    }
    offset = next;
  }
  if (!crossed) return;
  buffer_.shrink(kept_end);
  count_ = kept;
  last_offset_ = last;
}

void EventLog::forgetKeepingMemory() {
  buffer_.shrink(0);
  count_ = 0;
  last_offset_ = 0;
}

void EventLog::clear() {
  buffer_.reset();
  count_ = 0;
  last_offset_ = 0;
}

}  // namespace tapshim::core
