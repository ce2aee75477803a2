#include "tap_core/encoder/proto_binary_encoder.h"

#include "tap_core/encoder/message_parts.h"
#include "tap_core/encoder/proto_wire.h"

namespace tapshim::core {
namespace {

using wire::ProtoWriter;

// Field numbers of envoy.data.tap.v3 and envoy.config.core.v3 (see proto/).
namespace field {
constexpr uint32_t kWrapperSocketBufferedTrace = 3, kWrapperSocketStreamedTraceSegment = 4;
constexpr uint32_t kSegmentTraceId = 1, kSegmentConnection = 2, kSegmentEvent = 3,
                   kSegmentEvents = 4, kSegmentProcess = 1000;
constexpr uint32_t kEventsEvents = 1;
constexpr uint32_t kTraceId = 1, kTraceConnection = 2, kTraceEvents = 3, kReadTruncated = 4,
                   kWriteTruncated = 5, kTraceProcess = 1000;
constexpr uint32_t kProcessPid = 1, kProcessName = 2, kProcessConnectionOrigin = 3,
                   kProcessUndecryptedTls = 4, kProcessJoinedLate = 5;
constexpr uint32_t kLocalAddress = 1, kRemoteAddress = 2;
constexpr uint32_t kSocketAddress = 1, kPipe = 2;
constexpr uint32_t kAddressText = 2, kPortValue = 3, kPipePath = 1;
constexpr uint32_t kTimestamp = 1, kRead = 2, kWrite = 3, kClosed = 4, kEventConnection = 5,
                   kSeqNum = 6;
constexpr uint32_t kSeconds = 1, kNanos = 2;
constexpr uint32_t kBody = 1, kEndStream = 2;
constexpr uint32_t kAsBytes = 1, kTruncated = 3;
}  // namespace field

template <typename W>
void writeAddress(W& w, const Address& address) {
  if (address.kind == Address::Kind::kIp) {
    w.messageField(field::kSocketAddress, [&](auto& a) {
      a.bytesField(field::kAddressText, address.textView());
      a.uint64Always(field::kPortValue, address.port);  // a oneof member
    });
  } else if (address.kind == Address::Kind::kPipe) {
    w.messageField(field::kPipe,
                   [&](auto& p) { p.bytesField(field::kPipePath, address.textView()); });
  }
}

template <typename W>
void writeConnection(W& w, const ConnectionInfo& connection) {
  if (connection.local.known()) {
    w.messageField(field::kLocalAddress, [&](auto& a) { writeAddress(a, connection.local); });
  }
  if (connection.remote.known()) {
    w.messageField(field::kRemoteAddress, [&](auto& a) { writeAddress(a, connection.remote); });
  }
}

template <typename W>
void writeEvent(W& w, const EventView& event, const ConnectionInfo* event_connection) {
  // Envoy always sets the timestamp, so even the epoch is written (0a 00).
  w.messageField(field::kTimestamp, [&](auto& t) {
    int64_t seconds = event.timestamp_ns / 1000000000;
    int64_t nanos = event.timestamp_ns % 1000000000;
    if (nanos < 0) {
      nanos += 1000000000;
      --seconds;
    }
    t.int64Field(field::kSeconds, seconds);
    t.int32Field(field::kNanos, static_cast<int32_t>(nanos));
  });
  auto body = [&](auto& b) {
    b.bytesAlways(field::kAsBytes, event.data);  // a oneof member: "0a 00" when empty
    b.boolField(field::kTruncated, event.truncated);
  };
  switch (event.kind) {
    case EventKind::kRead:
      w.messageField(field::kRead, [&](auto& r) { r.messageField(field::kBody, body); });
      break;
    case EventKind::kWrite:
      w.messageField(field::kWrite, [&](auto& r) {
        r.messageField(field::kBody, body);
        r.boolField(field::kEndStream, event.end_stream);
      });
      break;
    case EventKind::kClosed:
      w.messageField(field::kClosed, [](auto&) {});
      break;
  }
  if (event_connection != nullptr) {
    w.messageField(field::kEventConnection,
                   [&](auto& c) { writeConnection(c, *event_connection); });
  }
  w.uint64Field(field::kSeqNum, event.seq_num);
}

template <typename W>
void writeProcess(W& w, uint32_t field_number, const ProcessInfo* process,
                  const ConnectionInfo* connection) {
  if (process == nullptr) return;
  w.messageField(field_number, [&](auto& p) {
    p.uint64Field(field::kProcessPid, static_cast<uint32_t>(process->pid));
    p.bytesField(field::kProcessName, process->name);
    if (connection != nullptr) {
      p.uint64Field(field::kProcessConnectionOrigin, static_cast<uint64_t>(connection->origin));
      p.uint64Field(field::kProcessUndecryptedTls, connection->undecrypted_tls ? 1 : 0);
      p.uint64Field(field::kProcessJoinedLate, connection->joined_late ? 1 : 0);
    }
  });
}

template <typename W>
void writeBufferedTrace(W& w, const BufferedTraceData& trace) {
  w.uint64Field(field::kTraceId, trace.trace_id);
  if (trace.connection != nullptr) {
    w.messageField(field::kTraceConnection,
                   [&](auto& c) { writeConnection(c, *trace.connection); });
  }
  if (trace.events != nullptr) {
    trace.events->forEach([&](const EventView& event) {
      w.messageField(field::kTraceEvents, [&](auto& e) { writeEvent(e, event, nullptr); });
    });
  }
  w.boolField(field::kReadTruncated, trace.read_truncated);
  w.boolField(field::kWriteTruncated, trace.write_truncated);
  writeProcess(w, field::kTraceProcess, trace.process, trace.connection);
}

template <typename W>
void writeSegment(W& w, const SegmentData& segment) {
  w.uint64Field(field::kSegmentTraceId, segment.trace_id);
  switch (segment.piece) {
    case SegmentData::Piece::kConnection:
      w.messageField(field::kSegmentConnection,
                     [&](auto& c) { writeConnection(c, *segment.connection); });
      break;
    case SegmentData::Piece::kEvent:
      w.messageField(field::kSegmentEvent,
                     [&](auto& e) { writeEvent(e, *segment.event, segment.event_connection); });
      break;
    case SegmentData::Piece::kEvents:
      w.messageField(field::kSegmentEvents, [&](auto& list) {
        segment.events->forEach([&](const EventView& event) {
          list.messageField(field::kEventsEvents,
                            [&](auto& e) { writeEvent(e, event, segment.event_connection); });
        });
      });
      break;
  }
  writeProcess(w, field::kSegmentProcess, segment.process, segment.connection);
}

// Measures `write_message`'s output, then writes it into `out`, preceded by
// its length when `length_delimited`.
template <typename WriteMessage>
bool encodeFramed(bool length_delimited, ByteBuffer* out, WriteMessage&& write_message) {
  wire::SizeTape tape;
  wire::ByteCounter counter;
  ProtoWriter<wire::ByteCounter> measure(counter, &tape);
  write_message(measure);
  const size_t prefix = length_delimited ? wire::varintSize(counter.size()) : 0;
  uint8_t* destination = out->grow(prefix + counter.size());
  if (destination == nullptr) return false;
  wire::ByteWriter writer(destination);
  if (length_delimited) writer.putVarint(counter.size());
  ProtoWriter<wire::ByteWriter> write(writer, &tape);
  write_message(write);
  return true;
}

// encodeFramed's bytes as parts: the same two passes, with long bytes
// fields pointed at instead of copied into `scratch`.
template <typename WriteMessage>
bool encodeFramedParts(bool length_delimited, ByteBuffer* scratch, MessageParts* parts,
                       WriteMessage&& write_message) {
  wire::PartsCounter counter;
  wire::SizeTape tape;
  ProtoWriter<wire::PartsCounter> measure(counter, &tape);
  write_message(measure);
  const size_t prefix = length_delimited ? wire::varintSize(counter.totalBytes()) : 0;
  scratch->shrink(0);
  // Sized once and exactly, so the parts' addresses in it stay valid.
  uint8_t* destination = scratch->grow(prefix + counter.copiedBytes());
  if (destination == nullptr || !parts->reset(counter.maxParts())) return false;
  wire::PartsWriter writer(destination, parts);
  if (length_delimited) writer.putVarint(counter.totalBytes());
  ProtoWriter<wire::PartsWriter> write(writer, &tape);
  write_message(write);
  writer.finish();
  return true;
}

template <typename W>
void writeBufferedWrapper(W& w, const BufferedTraceData& trace) {
  w.messageField(field::kWrapperSocketBufferedTrace,
                 [&](auto& t) { writeBufferedTrace(t, trace); });
}

template <typename W>
void writeSegmentWrapper(W& w, const SegmentData& segment) {
  w.messageField(field::kWrapperSocketStreamedTraceSegment,
                 [&](auto& s) { writeSegment(s, segment); });
}

}  // namespace

bool ProtoBinaryEncoder::encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const {
  return encodeFramed(length_delimited_, out, [&](auto& w) { writeBufferedWrapper(w, trace); });
}

bool ProtoBinaryEncoder::encodeBufferedParts(const BufferedTraceData& trace, ByteBuffer* scratch,
                                             MessageParts* parts) const {
  return encodeFramedParts(length_delimited_, scratch, parts,
                           [&](auto& w) { writeBufferedWrapper(w, trace); });
}

bool ProtoBinaryEncoder::encodeSegment(const SegmentData& segment, ByteBuffer* out) const {
  return encodeFramed(length_delimited_, out, [&](auto& w) { writeSegmentWrapper(w, segment); });
}

bool ProtoBinaryEncoder::encodeSegmentParts(const SegmentData& segment, ByteBuffer* scratch,
                                            MessageParts* parts) const {
  return encodeFramedParts(length_delimited_, scratch, parts,
                           [&](auto& w) { writeSegmentWrapper(w, segment); });
}

}  // namespace tapshim::core
