#include "tap_core/proto_binary_encoder.h"

#include "tap_core/proto_wire.h"

namespace tapshim::core {
namespace {

using wire::ProtoWriter;

// Field numbers of envoy.data.tap.v3 and envoy.config.core.v3 (see proto/).
namespace field {
constexpr uint32_t kWrapperSocketBufferedTrace = 3;
constexpr uint32_t kTraceId = 1, kTraceConnection = 2, kTraceEvents = 3, kReadTruncated = 4,
                   kWriteTruncated = 5, kTraceProcess = 1000;
constexpr uint32_t kProcessPid = 1, kProcessName = 2;
constexpr uint32_t kLocalAddress = 1, kRemoteAddress = 2;
constexpr uint32_t kSocketAddress = 1, kPipe = 2;
constexpr uint32_t kAddressText = 2, kPortValue = 3, kPipePath = 1;
constexpr uint32_t kTimestamp = 1, kRead = 2, kWrite = 3, kClosed = 4, kSeqNum = 6;
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
    w.messageField(field::kPipe, [&](auto& p) { p.bytesField(field::kPipePath, address.textView()); });
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
void writeEvent(W& w, const EventView& event) {
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
  w.uint64Field(field::kSeqNum, event.seq_num);
}

template <typename W>
void writeBufferedTrace(W& w, const BufferedTraceData& trace) {
  w.uint64Field(field::kTraceId, trace.trace_id);
  if (trace.connection != nullptr) {
    w.messageField(field::kTraceConnection, [&](auto& c) { writeConnection(c, *trace.connection); });
  }
  if (trace.events != nullptr) {
    trace.events->forEach([&](const EventView& event) {
      w.messageField(field::kTraceEvents, [&](auto& e) { writeEvent(e, event); });
    });
  }
  w.boolField(field::kReadTruncated, trace.read_truncated);
  w.boolField(field::kWriteTruncated, trace.write_truncated);
  if (trace.process != nullptr) {
    w.messageField(field::kTraceProcess, [&](auto& p) {
      p.uint64Field(field::kProcessPid, static_cast<uint32_t>(trace.process->pid));
      p.bytesField(field::kProcessName, trace.process->name);
    });
  }
}

template <typename W>
void writeWrapper(W& w, const BufferedTraceData& trace) {
  w.messageField(field::kWrapperSocketBufferedTrace,
                 [&](auto& t) { writeBufferedTrace(t, trace); });
}

}  // namespace

bool ProtoBinaryEncoder::encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const {
  wire::ByteCounter counter;
  ProtoWriter<wire::ByteCounter> measure(counter);
  writeWrapper(measure, trace);
  uint8_t* destination = out->grow(counter.size());
  if (destination == nullptr) return false;
  wire::ByteWriter writer(destination);
  ProtoWriter<wire::ByteWriter> write(writer);
  writeWrapper(write, trace);
  return true;
}

}  // namespace tapshim::core
