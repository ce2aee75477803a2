#include "tools/trace_reader/trace_events.h"

namespace tapshim::tap2pcap {
namespace {

using envoy::data::tap::v3::Body;
using envoy::data::tap::v3::SocketEvent;
using envoy::data::tap::v3::TraceWrapper;

void copyBody(const Body& body, TapEvent* event) {
  event->data = body.has_as_string() ? body.as_string() : body.as_bytes();
  event->truncated = body.truncated();
}

}  // namespace

TapEvent toTapEvent(const SocketEvent& event) {
  TapEvent out;
  if (event.has_timestamp()) {
    out.has_time = true;
    out.time_ns = event.timestamp().seconds() * 1'000'000'000 + event.timestamp().nanos();
  }
  switch (event.event_selector_case()) {
    case SocketEvent::kRead:
      out.kind = TapEvent::Kind::kRead;
      copyBody(event.read().data(), &out);
      break;
    case SocketEvent::kWrite:
      out.kind = TapEvent::Kind::kWrite;
      copyBody(event.write().data(), &out);
      break;
    case SocketEvent::kClosed:
    case SocketEvent::EVENT_SELECTOR_NOT_SET:
      // An event without a kind carries nothing to show; treat it as a close
      // only for its timestamp.
      out.kind = TapEvent::Kind::kClosed;
      break;
  }
  return out;
}

std::vector<TapEvent> eventsOf(const TraceWrapper& wrapper) {
  std::vector<TapEvent> events;
  if (wrapper.has_socket_buffered_trace()) {
    for (const SocketEvent& event : wrapper.socket_buffered_trace().events()) {
      events.push_back(toTapEvent(event));
    }
  } else if (wrapper.has_socket_streamed_trace_segment()) {
    const auto& segment = wrapper.socket_streamed_trace_segment();
    if (segment.has_event()) events.push_back(toTapEvent(segment.event()));
    if (segment.has_events()) {
      for (const SocketEvent& event : segment.events().events()) {
        events.push_back(toTapEvent(event));
      }
    }
  }
  return events;
}

uint64_t traceIdOf(const TraceWrapper& wrapper) {
  if (wrapper.has_socket_buffered_trace()) return wrapper.socket_buffered_trace().trace_id();
  return wrapper.socket_streamed_trace_segment().trace_id();
}

}  // namespace tapshim::tap2pcap
