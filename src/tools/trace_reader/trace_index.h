// The first pass over the inputs: finds every trace and where its records
// lie, and sums it up (addresses, process, times, bytes, truncation),
// keeping no event data. The second pass (trace_cursor.h) reads the
// records again, one at a time, as their packets are written.
#pragma once

#include <functional>
#include <istream>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "envoy/data/tap/v3/wrapper.pb.h"
#include "tools/trace_reader/record_parser.h"
#include "tools/trace_reader/trace_format.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::tap2pcap {

class TraceIndex {
 public:
  explicit TraceIndex(ConnectionNumbering numbering) : numbering_(numbering) {}

  // Scans input number `input`. Each buffered record is a trace of its own;
  // streamed segments are grouped by trace_id within the input.
  // @param progress called now and then with the number of bytes scanned.
  // @return an error naming the problem and its place (not the file name);
  //         an input without any record is an error too.
  absl::Status addInput(size_t input, std::istream& in, TraceFormat format,
                        const std::function<void(uint64_t)>& progress = nullptr);

  const std::vector<TraceSummary>& traces() const { return traces_; }
  std::vector<TraceSummary> takeTraces() { return std::move(traces_); }

 private:
  void addRecord(size_t input, const envoy::data::tap::v3::TraceWrapper& wrapper,
                 const RecordLocation& location,
                 std::unordered_map<uint64_t, size_t>* streamed_traces);

  const ConnectionNumbering numbering_;
  std::vector<TraceSummary> traces_;
};

// Adds what one event tells about its trace to *summary. Exposed for tests.
void summarizeEvent(const TapEvent& event, TraceSummary* summary);

}  // namespace tapshim::tap2pcap
