// JSON_BODY_AS_BYTES and JSON_BODY_AS_STRING (".json"): what protobuf's
// JSON printer writes with Envoy's options (proto field names, whitespace,
// primitive fields always printed), each message ending in a newline.
//
// Keys come in the order libprotobuf 3.21 (Debian 12) prints them; readers
// must not depend on key order (other protobuf versions differ).
// JSON_BODY_AS_STRING writes a body as as_string only when it is valid
// UTF-8: Envoy does no check, and libprotobuf's printer silently drops
// invalid bytes; tapshim keeps such a body in as_bytes instead.
#pragma once

#include "tap_core/encoder/trace_encoder.h"

namespace tapshim::core {

class JsonEncoder final : public TraceEncoder {
 public:
  explicit JsonEncoder(bool body_as_string) : body_as_string_(body_as_string) {}

  // TraceEncoder
  std::string_view extension() const override { return ".json"; }
  bool encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const override;
  bool encodeSegment(const SegmentData& segment, ByteBuffer* out) const override;

 private:
  bool body_as_string_;
};

}  // namespace tapshim::core
