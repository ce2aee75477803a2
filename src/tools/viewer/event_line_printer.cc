#include "tools/viewer/event_line_printer.h"

#include <time.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/trace_reader/trace_events.h"
#include "tools/trace_reader/trace_index.h"
#include "tools/viewer/summary_printer.h"

namespace tapshim::view {
namespace {

using tap2pcap::TapEvent;
using tap2pcap::TraceSummary;

int64_t wallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string clockTime(int64_t time_ns) {
  const time_t seconds = static_cast<time_t>(time_ns / 1'000'000'000);
  tm local;
  if (localtime_r(&seconds, &local) == nullptr) return "?";
  return absl::StrFormat("%02d:%02d:%02d.%06d", local.tm_hour, local.tm_min, local.tm_sec,
                         static_cast<int>(time_ns % 1'000'000'000 / 1000));
}

std::string side(const TraceSummary& trace,
                 const std::optional<envoy::config::core::v3::Address>& address) {
  if (address) return formatAddress(&*address);
  const bool pipe =
      (trace.local && trace.local->has_pipe()) || (trace.remote && trace.remote->has_pipe());
  return pipe ? "(unnamed)" : "?";
}

}  // namespace

std::string EventLinePrinter::lineOf(const TraceSummary& trace, const TapEvent& event, bool first) {
  const bool read = event.kind == TapEvent::Kind::kRead;
  std::string line = absl::StrCat(clockTime(event.time_ns), "  ", side(trace, trace.local),
                                  read ? " ← " : " → ", side(trace, trace.remote), "  ");
  if (trace.pid || !trace.process_name.empty()) {
    absl::StrAppend(&line, trace.process_name.empty() ? "?" : trace.process_name, "[",
                    trace.pid.value_or(0), "]  ");
  }
  if (event.kind == TapEvent::Kind::kClosed) {
    absl::StrAppend(&line, "closed");
  } else {
    absl::StrAppend(&line, read ? "read " : "write", "  ", event.data.size(), " B");
  }
  if (event.truncated) absl::StrAppend(&line, event.data.empty() ? "  gap" : "  truncated");
  if (first && trace.joined_late) absl::StrAppend(&line, "  joined-late");
  if (first && trace.undecrypted_tls) absl::StrAppend(&line, "  TLS-not-decrypted");
  if (event.kind != TapEvent::Kind::kClosed && !event.data.empty()) {
    absl::StrAppend(&line, "  ", previewOf(event.data.substr(0, kPreviewBytes), event.data.size()));
  }
  return line;
}

void EventLinePrinter::print(Connection& connection, std::vector<TapEvent> events) {
  for (TapEvent& event : events) {
    if (!connection.printed && !event.has_time) connection.last_time_ns = wallClockNs();
    // Times never go backwards within a connection, as in tap2pcap.
    if (!event.has_time || event.time_ns < connection.last_time_ns) {
      event.time_ns = connection.last_time_ns;
    }
    connection.last_time_ns = event.time_ns;
    const std::string line = lineOf(connection.summary, event, !connection.printed);
    connection.printed = true;
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
  }
}

void EventLinePrinter::onRecord(size_t file, const std::string&,
                                const envoy::data::tap::v3::TraceWrapper& wrapper) {
  if (wrapper.has_socket_buffered_trace()) {
    Connection connection;
    tap2pcap::learnFromRecord(wrapper, &connection.summary);
    print(connection, tap2pcap::eventsOf(wrapper));
    return;
  }
  Connection& connection = streamed_[{file, tap2pcap::traceIdOf(wrapper)}];
  tap2pcap::learnFromRecord(wrapper, &connection.summary);
  print(connection, tap2pcap::eventsOf(wrapper));
}

// A closed or broken stdout ends the follow.
bool EventLinePrinter::onLookEnd() { return std::fflush(out_) == 0 && !std::ferror(out_); }

}  // namespace tapshim::view
