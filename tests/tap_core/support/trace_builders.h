// Random buffered traces, held as plain values so that the same trace can
// be encoded twice: by the shim's ProtoBinaryEncoder and by libprotobuf.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "envoy/data/tap/v3/wrapper.pb.h"
#include "tap_core/encoder/trace_encoder.h"
#include "tap_core/trace/event_log.h"
#include "tap_core/trace/trace_types.h"

namespace tapshim::testing {

struct EventSpec {
  int64_t timestamp_ns = 0;
  core::EventKind kind = core::EventKind::kRead;
  std::string data;
  bool truncated = false;
  bool end_stream = false;
  uint64_t seq_num = 0;
};

struct TraceSpec {
  uint64_t trace_id = 0;
  std::optional<core::ConnectionInfo> connection;  // nullopt: no Connection
  std::vector<EventSpec> events;
  bool events_as_null = false;  // BufferedTraceData.events == nullptr
  bool read_truncated = false;
  bool write_truncated = false;
  std::optional<core::ProcessInfo> process;  // nullopt: no extension
};

// Draws a trace that leans on the encoding's edge cases: ids and ports at
// varint boundaries, empty data, epoch, negative and extreme timestamps.
TraceSpec randomTrace(std::mt19937_64& random);

// The shim's bytes for `trace`: `encoder`'s encodeBuffered, by default
// PROTO_BINARY's.
std::string encodeWithShim(const TraceSpec& trace);
std::string encodeWithShim(const TraceSpec& trace, const core::TraceEncoder& encoder);

// The same trace built with the libprotobuf classes generated from proto/,
// following the shim's conventions (timestamp always set, as_bytes always
// set on read/write, port_value set for every IP address).
envoy::data::tap::v3::TraceWrapper toProto(const TraceSpec& trace);

// Fills an EventLog with `events` (each recorded whole).
void fillEventLog(const std::vector<EventSpec>& events, core::EventLog* log);

// What a tapper hands the encoder for `trace`, with `events` (filled from
// trace.events by fillEventLog) as its events unless trace.events_as_null.
core::BufferedTraceData bufferedTraceData(const TraceSpec& trace, const core::EventLog& events);

}  // namespace tapshim::testing
