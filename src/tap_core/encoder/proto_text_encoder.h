// PROTO_TEXT: what protobuf's TextFormat::Printer writes for a TraceWrapper
// (2-space indentation, fields in field-number order, C-escaped strings),
// messages simply concatenated (".pb_text").
#pragma once

#include "tap_core/encoder/trace_encoder.h"

namespace tapshim::core {

class ProtoTextEncoder final : public TraceEncoder {
 public:
  // TraceEncoder
  std::string_view extension() const override { return ".pb_text"; }
  bool encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const override;
  bool encodeSegment(const SegmentData& segment, ByteBuffer* out) const override;
};

}  // namespace tapshim::core
