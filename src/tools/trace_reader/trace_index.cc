#include "tools/trace_reader/trace_index.h"

#include "absl/strings/str_cat.h"
#include "tools/trace_reader/record_scanner.h"
#include "tools/trace_reader/trace_events.h"

namespace tapshim::tap2pcap {
namespace {

using envoy::data::tap::v3::Connection;
using envoy::data::tap::v3::TraceWrapper;

// tapshim's extension: the process, and which side opened the connection.
void learnProcess(const envoy::data::tap::v3::TapshimProcess& process, TraceSummary* summary) {
  summary->pid = process.pid();
  summary->process_name = process.name();
  summary->undecrypted_tls = summary->undecrypted_tls || process.undecrypted_tls();
  summary->joined_late = summary->joined_late || process.joined_late();
  using Origin = envoy::data::tap::v3::TapshimProcess;
  if (process.connection_origin() == Origin::OUTBOUND) summary->local_is_client = true;
  if (process.connection_origin() == Origin::INBOUND) summary->local_is_client = false;
}

// Keeps addresses already known: a streamed trace may repeat its
// connection per event, and the first segment may lack the local side.
void learnConnection(const Connection& connection, TraceSummary* summary) {
  if (connection.has_local_address() && !summary->local)
    summary->local = connection.local_address();
  if (connection.has_remote_address() && !summary->remote) {
    summary->remote = connection.remote_address();
  }
}

}  // namespace

void summarizeEvent(const TapEvent& event, TraceSummary* summary) {
  ++summary->events;
  if (event.has_time) {
    if (!summary->has_time || event.time_ns < summary->first_ns) summary->first_ns = event.time_ns;
    if (!summary->has_time || event.time_ns > summary->last_ns) summary->last_ns = event.time_ns;
    summary->has_time = true;
  }
  if (event.kind == TapEvent::Kind::kRead) {
    summary->read_bytes += event.data.size();
    if (event.truncated) summary->read_truncated = true;
  } else if (event.kind == TapEvent::Kind::kWrite) {
    summary->write_bytes += event.data.size();
    if (event.truncated) summary->write_truncated = true;
  }
  if (event.truncated) ++summary->truncated_events;
}

void learnFromRecord(const TraceWrapper& wrapper, TraceSummary* summary) {
  if (wrapper.has_socket_buffered_trace()) {
    const auto& trace = wrapper.socket_buffered_trace();
    summary->trace_id = trace.trace_id();
    if (trace.has_connection()) learnConnection(trace.connection(), summary);
    summary->read_truncated = summary->read_truncated || trace.read_truncated();
    summary->write_truncated = summary->write_truncated || trace.write_truncated();
    if (trace.has_tapshim_process()) learnProcess(trace.tapshim_process(), summary);
    return;
  }
  const auto& segment = wrapper.socket_streamed_trace_segment();
  summary->trace_id = segment.trace_id();
  summary->streamed = true;
  if (segment.has_connection()) learnConnection(segment.connection(), summary);
  if (segment.has_tapshim_process()) learnProcess(segment.tapshim_process(), summary);
  auto learnFromEvent = [summary](const envoy::data::tap::v3::SocketEvent& event) {
    if (event.has_connection()) learnConnection(event.connection(), summary);
  };
  if (segment.has_event()) learnFromEvent(segment.event());
  for (const auto& event : segment.events().events()) learnFromEvent(event);
}

void TraceIndex::addRecord(size_t input, const TraceWrapper& wrapper,
                           const RecordLocation& location,
                           std::unordered_map<uint64_t, size_t>* streamed_traces) {
  TraceSummary* summary = nullptr;
  if (wrapper.has_socket_buffered_trace()) {
    summary = &traces_.emplace_back();
  } else {
    auto [it, added] = streamed_traces->try_emplace(traceIdOf(wrapper), traces_.size());
    if (added) traces_.emplace_back();
    summary = &traces_[it->second];
  }
  learnFromRecord(wrapper, summary);
  summary->input = input;
  summary->records.push_back(location);
  for (const TapEvent& event : eventsOf(wrapper)) summarizeEvent(event, summary);
}

absl::Status TraceIndex::addInput(size_t input, std::istream& in, TraceFormat format,
                                  const std::function<void(uint64_t)>& progress) {
  std::unique_ptr<RecordScanner> scanner = makeRecordScanner(format, in);
  std::unordered_map<uint64_t, size_t> streamed_traces;
  std::string record;
  RecordLocation location;
  TraceWrapper wrapper;
  uint64_t records = 0;
  while (true) {
    absl::StatusOr<bool> got = scanner->next(&record, &location);
    if (!got.ok()) return got.status();
    if (!*got) break;
    ++records;
    absl::Status parsed = parseRecord(record, format, numbering_, &wrapper);
    if (!parsed.ok()) {
      return absl::Status(parsed.code(), absl::StrCat("record ", records, " (byte ",
                                                      location.offset, "): ", parsed.message()));
    }
    addRecord(input, wrapper, location, &streamed_traces);
    if (progress) progress(location.offset + location.length);
  }
  if (records == 0) return absl::InvalidArgumentError("holds no trace");
  return absl::OkStatus();
}

}  // namespace tapshim::tap2pcap
