// A buffered trace larger than the room its file has left under the file
// size limit (Sink::room) is cut to fit rather than lost: its oldest
// events are kept, as far as they fit, and the directions that lost bytes
// are flagged read_truncated / write_truncated, the flags Envoy sets on a
// trace cut at its limits.
#pragma once

#include "tap_core/base/byte_buffer.h"
#include "tap_core/encoder/message_parts.h"
#include "tap_core/encoder/trace_encoder.h"
#include "tap_core/sink/sink.h"
#include "tap_core/trace/event_log.h"

namespace tapshim::core {

// `parts` holds `trace` encoded (into `scratch`), its events being
// `*events`. When the sink's output behind `token` has less room than that,
// cuts *events (in place) and the flags of *trace, and encodes again until
// it fits. False when even the trace without events does not fit, or
// memory is short: then nothing is to be written.
bool fitToRoom(Sink& sink, int token, const TraceEncoder& encoder, EventLog* events,
               BufferedTraceData* trace, ByteBuffer* scratch, MessageParts* parts);

}  // namespace tapshim::core
