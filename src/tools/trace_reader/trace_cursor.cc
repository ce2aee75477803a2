#include "tools/trace_reader/trace_cursor.h"

#include "tools/trace_reader/trace_events.h"

namespace tapshim::tap2pcap {

TraceCursor::TraceCursor(const TraceSummary& summary, TraceFormat format,
                         ConnectionNumbering numbering, RecordSource* source)
    : summary_(summary),
      format_(format),
      numbering_(numbering),
      source_(source),
      last_time_ns_(summary.first_ns) {}

absl::Status TraceCursor::advance() {
  if (started_ && !pending_.empty()) pending_.pop_front();
  started_ = true;
  envoy::data::tap::v3::TraceWrapper wrapper;
  while (pending_.empty() && next_record_ < summary_.records.size()) {
    absl::StatusOr<std::string> record =
        source_->read(summary_.input, summary_.records[next_record_]);
    ++next_record_;
    if (!record.ok()) return record.status();
    absl::Status parsed = parseRecord(*record, format_, numbering_, &wrapper);
    if (!parsed.ok()) return parsed;
    for (TapEvent& event : eventsOf(wrapper)) pending_.push_back(std::move(event));
  }
  if (pending_.empty()) {
    done_ = true;
    return absl::OkStatus();
  }
  TapEvent& event = pending_.front();
  if (!event.has_time || event.time_ns < last_time_ns_) event.time_ns = last_time_ns_;
  last_time_ns_ = event.time_ns;
  return absl::OkStatus();
}

}  // namespace tapshim::tap2pcap
