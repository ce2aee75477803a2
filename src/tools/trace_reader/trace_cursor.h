// Walks one trace's events in order for the second pass, reading its
// records one at a time, so only the current record of each open trace is
// in memory. Times never go backwards: an event stamped earlier than its
// predecessor (or not stamped) takes the predecessor's time.
#pragma once

#include <deque>

#include "absl/status/status.h"
#include "tools/trace_reader/record_parser.h"
#include "tools/trace_reader/record_source.h"
#include "tools/trace_reader/trace_format.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::tap2pcap {

class TraceCursor {
 public:
  TraceCursor(const TraceSummary& summary, TraceFormat format, ConnectionNumbering numbering,
              RecordSource* source);

  // Moves to the first or next event. Call once before current().
  absl::Status advance();
  bool done() const { return done_; }
  // The current event; valid until the next advance(), if !done().
  const TapEvent& current() const { return pending_.front(); }

 private:
  const TraceSummary& summary_;
  const TraceFormat format_;
  const ConnectionNumbering numbering_;
  RecordSource* const source_;
  size_t next_record_ = 0;
  std::deque<TapEvent> pending_;
  bool started_ = false;
  bool done_ = false;
  int64_t last_time_ns_;
};

}  // namespace tapshim::tap2pcap
