// src/tap_core/encoder/: the five output formats. TraceEncoder (this file)
// turns a buffered trace or a streamed segment into bytes: protobuf binary,
// length-delimited (proto_binary_encoder.h, on the wire helpers of
// proto_wire.h), text (proto_text_encoder.h) and Envoy's two JSON forms
// (json_encoder.h, utf8.h). Binary messages come as parts for one writev
// (message_parts.h), so a program's bytes are pointed at, not copied.
// Uses trace/, base/ and the Sink interface's part limit; knows nothing of
// Envoy's recording rules or of files.
//
// The seam between the tapper and an output format.
#pragma once

#include <cstdint>
#include <string_view>

#include "tap_core/base/byte_buffer.h"
#include "tap_core/encoder/message_parts.h"
#include "tap_core/trace/event_log.h"
#include "tap_core/trace/trace_types.h"

namespace tapshim::core {

// Everything a buffered trace message holds (SocketBufferedTrace).
struct BufferedTraceData {
  uint64_t trace_id = 0;
  const ConnectionInfo* connection = nullptr;
  const EventLog* events = nullptr;
  bool read_truncated = false;
  bool write_truncated = false;
  const ProcessInfo* process = nullptr;  // nullptr: the extension is left out
};

// One SocketStreamedTraceSegment: the trace id and one piece.
struct SegmentData {
  enum class Piece : uint8_t { kConnection, kEvent, kEvents };

  uint64_t trace_id = 0;
  Piece piece = Piece::kConnection;
  const ConnectionInfo* connection = nullptr;  // kConnection
  const EventView* event = nullptr;            // kEvent
  const EventLog* events = nullptr;            // kEvents
  // Envoy's set_connection_per_event: written into every event.
  const ConnectionInfo* event_connection = nullptr;
  // The tapshim extension (binary formats), on the connection piece.
  const ProcessInfo* process = nullptr;
};

class TraceEncoder {
 public:
  virtual ~TraceEncoder() = default;
  // File name extension, with the dot, as Envoy names it (".pb").
  virtual std::string_view extension() const = 0;
  // Appends TraceWrapper{socket_buffered_trace} to `out`, framed as the
  // format wants it in a file. Returns false when memory is short.
  virtual bool encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const = 0;
  // Appends TraceWrapper{socket_streamed_trace_segment}, framed likewise.
  virtual bool encodeSegment(const SegmentData& segment, ByteBuffer* out) const = 0;

  // The bytes encodeBuffered / encodeSegment would append, as parts for
  // one writev: what the encoder writes goes into `scratch`, and a format
  // that can may point at long event data where it lies instead of copying
  // it (so the data must stay put until the parts are written). Replaces
  // the contents of `scratch` and `parts`, keeping their memory. False
  // when memory is short. By default the whole message is one part in
  // `scratch`.
  virtual bool encodeBufferedParts(const BufferedTraceData& trace, ByteBuffer* scratch,
                                   MessageParts* parts) const {
    scratch->shrink(0);
    return encodeBuffered(trace, scratch) && asOnePart(*scratch, parts);
  }
  virtual bool encodeSegmentParts(const SegmentData& segment, ByteBuffer* scratch,
                                  MessageParts* parts) const {
    scratch->shrink(0);
    return encodeSegment(segment, scratch) && asOnePart(*scratch, parts);
  }

 private:
  static bool asOnePart(const ByteBuffer& message, MessageParts* parts) {
    if (!parts->reset(1)) return false;
    parts->add(message.data(), message.size());
    return true;
  }
};

}  // namespace tapshim::core
