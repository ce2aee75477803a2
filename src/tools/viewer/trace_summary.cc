#include "tools/viewer/trace_summary.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "tools/trace_reader/record_parser.h"
#include "tools/trace_reader/record_scanner.h"
#include "tools/trace_reader/trace_format.h"

namespace tapshim::view {
namespace {

using envoy::data::tap::v3::Body;
using envoy::data::tap::v3::Connection;
using envoy::data::tap::v3::SocketEvent;
using envoy::data::tap::v3::TraceWrapper;
using tap2pcap::TraceFormat;

// Keeps addresses already known, as tap2pcap's index does: a streamed trace
// may repeat its connection per event, and a segment may lack a side.
void learnConnection(const Connection& connection, TraceView* trace) {
  if (connection.has_local_address() && !trace->local) trace->local = connection.local_address();
  if (connection.has_remote_address() && !trace->remote) {
    trace->remote = connection.remote_address();
  }
}

EventView viewOf(const SocketEvent& event) {
  EventView view;
  if (event.has_timestamp()) {
    view.has_time = true;
    view.time_ns = event.timestamp().seconds() * 1'000'000'000 + event.timestamp().nanos();
  }
  view.seq_num = event.seq_num();
  const Body* body = nullptr;
  switch (event.event_selector_case()) {
    case SocketEvent::kRead:
      view.kind = EventView::Kind::kRead;
      body = &event.read().data();
      break;
    case SocketEvent::kWrite:
      view.kind = EventView::Kind::kWrite;
      body = &event.write().data();
      view.end_stream = event.write().end_stream();
      break;
    case SocketEvent::kClosed:
    case SocketEvent::EVENT_SELECTOR_NOT_SET:
      view.kind = EventView::Kind::kClosed;
      break;
  }
  if (body != nullptr) {
    const std::string& data = body->has_as_string() ? body->as_string() : body->as_bytes();
    view.size = data.size();
    view.truncated = body->truncated();
    view.preview = data.substr(0, kPreviewBytes);
  }
  return view;
}

void countEvent(const EventView& event, TraceView* trace) {
  if (event.has_time) {
    if (!trace->has_time || event.time_ns < trace->first_ns) trace->first_ns = event.time_ns;
    if (!trace->has_time || event.time_ns > trace->last_ns) trace->last_ns = event.time_ns;
    trace->has_time = true;
  }
  if (event.kind == EventView::Kind::kClosed) {
    ++trace->closed_events;
    return;
  }
  DirectionView& direction = event.kind == EventView::Kind::kWrite ? trace->sent : trace->received;
  ++direction.events;
  direction.bytes += event.size;
  if (event.truncated) {
    direction.truncated = true;
    ++(event.size == 0 ? direction.gap_events : direction.cut_events);
  }
}

void processOf(const envoy::data::tap::v3::TapshimProcess& process, TraceView* trace) {
  trace->pid = process.pid();
  trace->process_name = process.name();
  trace->undecrypted_tls = trace->undecrypted_tls || process.undecrypted_tls();
  trace->joined_late = trace->joined_late || process.joined_late();
}

}  // namespace

void TraceCollector::addRecord(const TraceWrapper& wrapper, TraceView* trace) const {
  ++trace->records;
  auto addEvent = [&](const SocketEvent& event) {
    if (event.has_connection()) learnConnection(event.connection(), trace);
    EventView view = viewOf(event);
    countEvent(view, trace);
    if (keep_events_) trace->events.push_back(std::move(view));
  };
  if (wrapper.has_socket_buffered_trace()) {
    const auto& buffered = wrapper.socket_buffered_trace();
    trace->trace_id = buffered.trace_id();
    if (buffered.has_connection()) learnConnection(buffered.connection(), trace);
    if (buffered.has_tapshim_process()) processOf(buffered.tapshim_process(), trace);
    for (const SocketEvent& event : buffered.events()) addEvent(event);
    trace->received.truncated |= buffered.read_truncated();
    trace->sent.truncated |= buffered.write_truncated();
    return;
  }
  const auto& segment = wrapper.socket_streamed_trace_segment();
  trace->trace_id = segment.trace_id();
  trace->streamed = true;
  if (segment.has_tapshim_process()) processOf(segment.tapshim_process(), trace);
  if (segment.has_connection()) learnConnection(segment.connection(), trace);
  if (segment.has_event()) addEvent(segment.event());
  for (const SocketEvent& event : segment.events().events()) addEvent(event);
}

absl::Status TraceCollector::addFile(size_t input, const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot open: ", std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) return absl::InvalidArgumentError("not a regular file");
  const std::optional<TraceFormat> format = tap2pcap::traceFormatForPath(path);
  if (!format) {
    return absl::InvalidArgumentError(
        "unknown trace extension (expected .pb, .pb_length_delimited, .pb_text or .json)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open: ", std::strerror(errno)));
  const int64_t mtime_ns =
      static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;

  std::unique_ptr<tap2pcap::RecordScanner> scanner = tap2pcap::makeRecordScanner(*format, in);
  std::vector<TraceView> found;
  std::unordered_map<uint64_t, size_t> streamed;  // trace_id -> index in found
  std::string record;
  tap2pcap::RecordLocation location;
  TraceWrapper wrapper;
  uint64_t records = 0;
  while (true) {
    absl::StatusOr<bool> got = scanner->next(&record, &location);
    if (!got.ok()) return got.status();
    if (!*got) break;
    ++records;
    absl::Status parsed =
        tap2pcap::parseRecord(record, *format, tap2pcap::ConnectionNumbering::kDetect, &wrapper);
    if (!parsed.ok()) {
      return absl::Status(parsed.code(), absl::StrCat("record ", records, " (byte ",
                                                      location.offset, "): ", parsed.message()));
    }
    TraceView* trace;
    if (wrapper.has_socket_buffered_trace()) {
      trace = &found.emplace_back();
    } else {
      auto [it, added] =
          streamed.try_emplace(wrapper.socket_streamed_trace_segment().trace_id(), found.size());
      if (added) found.emplace_back();
      trace = &found[it->second];
    }
    trace->file = path;
    trace->input = input;
    addRecord(wrapper, trace);
  }
  if (records == 0) return absl::InvalidArgumentError("holds no trace");
  for (TraceView& trace : found) {
    // A trace without any timestamp (a connection that carried nothing) is
    // placed when its file was written, as tap2pcap does.
    trace.sort_ns = trace.has_time ? trace.first_ns : mtime_ns;
    traces_.push_back(std::move(trace));
  }
  return absl::OkStatus();
}

std::vector<TraceView> TraceCollector::takeSorted() {
  std::stable_sort(traces_.begin(), traces_.end(),
                   [](const TraceView& a, const TraceView& b) { return a.sort_ns < b.sort_ns; });
  return std::move(traces_);
}

}  // namespace tapshim::view
