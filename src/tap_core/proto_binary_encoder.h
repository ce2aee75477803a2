// PROTO_BINARY: a serialized TraceWrapper, no delimiter (Envoy's ".pb").
#pragma once

#include "tap_core/trace_encoder.h"

namespace tapshim::core {

class ProtoBinaryEncoder final : public TraceEncoder {
 public:
  // TraceEncoder
  std::string_view extension() const override { return ".pb"; }
  bool encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const override;
};

}  // namespace tapshim::core
