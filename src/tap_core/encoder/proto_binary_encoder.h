// PROTO_BINARY (a serialized TraceWrapper, no delimiter: Envoy's ".pb") and
// PROTO_BINARY_LENGTH_DELIMITED (each message preceded by its length as a
// varint: ".pb_length_delimited", the format for streaming).
#pragma once

#include "tap_core/encoder/trace_encoder.h"

namespace tapshim::core {

class ProtoBinaryEncoder final : public TraceEncoder {
 public:
  explicit ProtoBinaryEncoder(bool length_delimited = false)
      : length_delimited_(length_delimited) {}

  // TraceEncoder
  std::string_view extension() const override {
    return length_delimited_ ? ".pb_length_delimited" : ".pb";
  }
  bool encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const override;
  bool encodeSegment(const SegmentData& segment, ByteBuffer* out) const override;
  // Event data of at least wire::ReferencePolicy::kMinReferencedBytes is
  // pointed at, not copied (up to the part budget of a message).
  bool encodeBufferedParts(const BufferedTraceData& trace, ByteBuffer* scratch,
                           MessageParts* parts) const override;
  bool encodeSegmentParts(const SegmentData& segment, ByteBuffer* scratch,
                          MessageParts* parts) const override;

 private:
  bool length_delimited_;
};

}  // namespace tapshim::core
