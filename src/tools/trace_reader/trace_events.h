// The events a parsed record carries, in the tool's own terms.
#pragma once

#include <vector>

#include "envoy/data/tap/v3/wrapper.pb.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::tap2pcap {

// A SocketEvent as a TapEvent (Body as_bytes or as_string alike).
TapEvent toTapEvent(const envoy::data::tap::v3::SocketEvent& event);

// Every read, write and close event of a buffered trace or a streamed
// segment, in the order of the record. A connection-only segment has none.
std::vector<TapEvent> eventsOf(const envoy::data::tap::v3::TraceWrapper& wrapper);

// The trace id of a buffered trace or streamed segment.
uint64_t traceIdOf(const envoy::data::tap::v3::TraceWrapper& wrapper);

}  // namespace tapshim::tap2pcap
