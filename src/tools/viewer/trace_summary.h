// tapshim-view's model: what one trace (one connection) holds, gathered
// from its file with tap2pcap's readers (record_scanner.h, record_parser.h)
// in one pass. Each buffered record is a trace of its own; streamed
// segments are grouped by trace_id within their file, as tap2pcap's
// TraceIndex does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "envoy/config/core/v3/address.pb.h"
#include "envoy/data/tap/v3/wrapper.pb.h"

namespace tapshim::view {

// One event, without its data beyond a short preview.
struct EventView {
  enum class Kind { kRead, kWrite, kClosed };
  Kind kind = Kind::kRead;
  int64_t time_ns = 0;
  bool has_time = false;
  uint64_t size = 0;  // recorded bytes
  bool truncated = false;
  bool end_stream = false;
  uint64_t seq_num = 0;
  std::string preview;  // the first kPreviewBytes recorded bytes
};

inline constexpr size_t kPreviewBytes = 60;

struct DirectionView {
  uint64_t bytes = 0;  // recorded
  uint64_t events = 0;
  uint64_t cut_events = 0;  // truncated, with data
  uint64_t gap_events = 0;  // truncated, empty: bytes the shim did not see or keep
  bool truncated = false;   // read_truncated / write_truncated, or any truncated event
};

struct TraceView {
  std::string file;
  size_t input = 0;  // index of the file on the command line (after expansion)
  uint64_t trace_id = 0;
  bool streamed = false;
  uint64_t records = 0;
  std::optional<envoy::config::core::v3::Address> local;
  std::optional<envoy::config::core::v3::Address> remote;
  std::optional<uint32_t> pid;
  std::string process_name;
  bool undecrypted_tls = false;  // TLS records no hooked call decrypted
  bool joined_late = false;      // tapping began with the connection open
  DirectionView sent;            // write events: local -> remote
  DirectionView received;        // read events: remote -> local
  uint64_t closed_events = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  bool has_time = false;
  int64_t sort_ns = 0;            // first_ns, or the file's modification time without any
  std::vector<EventView> events;  // only when asked for
};

// Collects the traces of files, one file at a time.
class TraceCollector {
 public:
  explicit TraceCollector(bool keep_events) : keep_events_(keep_events) {}

  // Reads every trace of `path` (its format from its extension). On error
  // nothing of the file is kept.
  // @return an error naming the problem (not the file).
  absl::Status addFile(size_t input, const std::string& path);

  // Every trace so far, sorted by first timestamp (file order breaks ties).
  std::vector<TraceView> takeSorted();

  // Adds one parsed record to *traces. Exposed for tests.
  void addRecord(const envoy::data::tap::v3::TraceWrapper& wrapper, TraceView* trace) const;

 private:
  const bool keep_events_;
  std::vector<TraceView> traces_;
};

}  // namespace tapshim::view
