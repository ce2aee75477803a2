#include "tap_core/tapper/fit_to_room.h"

namespace tapshim::core {
namespace {

// Each round removes at least the excess (a byte of data takes at least a
// byte encoded); the flags the first cut adds and varint lengths may need
// a second or third.
constexpr int kMaxRounds = 8;

uint64_t sizeOf(const MessageParts& parts) {
  uint64_t size = 0;
  for (int i = 0; i < parts.count(); ++i) size += parts.data()[i].iov_len;
  return size;
}

}  // namespace

bool fitToRoom(Sink& sink, int token, const TraceEncoder& encoder, EventLog* events,
               BufferedTraceData* trace, ByteBuffer* scratch, MessageParts* parts) {
  uint64_t size = sizeOf(*parts);
  const uint64_t room = sink.room(token, size);
  for (int round = 0; round < kMaxRounds && size > room; ++round) {
    if (events->empty()) return false;
    bool cut[2] = {false, false};
    const uint64_t data = events->dataBytes();
    const uint64_t excess = size - room;
    if (data == 0) {
      // Only empty events are left (gaps, a cut mark): drop them all.
      events->forEach([&](const EventView& event) {
        if (event.kind != EventKind::kClosed) cut[static_cast<size_t>(event.kind)] = true;
      });
      events->clear();
    } else {
      events->keepFirstBytes(data > excess ? data - excess : 0, cut);
    }
    trace->read_truncated = trace->read_truncated || cut[static_cast<size_t>(EventKind::kRead)];
    trace->write_truncated = trace->write_truncated || cut[static_cast<size_t>(EventKind::kWrite)];
    if (!encoder.encodeBufferedParts(*trace, scratch, parts)) return false;
    size = sizeOf(*parts);
  }
  return size <= room;
}

}  // namespace tapshim::core
