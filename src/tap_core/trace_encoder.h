// The seam between the tapper and an output format.
#pragma once

#include <cstdint>
#include <string_view>

#include "tap_core/byte_buffer.h"
#include "tap_core/event_log.h"
#include "tap_core/trace_types.h"

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

class TraceEncoder {
 public:
  virtual ~TraceEncoder() = default;
  // File name extension, with the dot, as Envoy names it (".pb").
  virtual std::string_view extension() const = 0;
  // Appends TraceWrapper{socket_buffered_trace} to `out`, framed as the
  // format wants it in a file. Returns false when memory is short.
  virtual bool encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const = 0;
};

}  // namespace tapshim::core
