// tapshim-view --follow: one line per event as traces are written, for a
// terminal, flushed line by line:
//   TIME  LOCAL → REMOTE  process[pid]  write  BYTES B  [flags]  "preview"
// (← and "read" for a read; "closed" for a close). TIME is the event's
// local wall-clock time to the microsecond. Flags: truncated (cut at the
// tap's limits), gap (bytes the shim did not see), joined-late and
// TLS-not-decrypted (on the connection's first line).
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <utility>

#include "tools/trace_reader/trace_follower.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::view {

class EventLinePrinter : public tap2pcap::TraceFollower::Listener {
 public:
  explicit EventLinePrinter(std::FILE* out) : out_(out) {}

  // TraceFollower::Listener
  void onRecord(size_t file, const std::string& path,
                const envoy::data::tap::v3::TraceWrapper& wrapper) override;
  bool onLookEnd() override;

  // One event's line, without its newline. Exposed for tests.
  // @param first the connection's first line (its flags go there).
  static std::string lineOf(const tap2pcap::TraceSummary& trace, const tap2pcap::TapEvent& event,
                            bool first);

 private:
  struct Connection {
    tap2pcap::TraceSummary summary;
    bool printed = false;
    int64_t last_time_ns = 0;
  };
  void print(Connection& connection, std::vector<tap2pcap::TapEvent> events);

  std::FILE* const out_;
  std::map<std::pair<size_t, uint64_t>, Connection> streamed_;  // (file, trace id)
};

}  // namespace tapshim::view
