// src/tools/trace_reader/: reading trace files of every format, buffered
// or streamed, whole or delimited, as the traces they hold. A file is
// split into records (record_scanner.h: binary by protobuf's framing,
// text and JSON by brackets), each parsed with libprotobuf
// (record_parser.h); this index finds every trace's records in a first
// pass, and trace_cursor.h walks one trace's events in a second. Shared by
// tap2pcap, tapshim-view and the tests' decoder; uses no other folder.
//
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

// Adds what one record (a buffered trace or a streamed segment) tells about
// its trace besides its events: trace id, addresses, process, truncation
// flags. Addresses already known are kept. Shared with the live readers
// (trace_follower.h), which learn a trace record by record.
void learnFromRecord(const envoy::data::tap::v3::TraceWrapper& wrapper, TraceSummary* summary);

}  // namespace tapshim::tap2pcap
