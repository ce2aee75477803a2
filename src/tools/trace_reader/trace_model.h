// What tap2pcap knows about a trace once the file format is out of the way:
// its events (reads, writes, closes) and a summary gathered in one pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "envoy/config/core/v3/address.pb.h"

namespace tapshim::tap2pcap {

// One read, write or close, with its time in nanoseconds since the epoch.
struct TapEvent {
  enum class Kind { kRead, kWrite, kClosed };
  Kind kind = Kind::kRead;
  int64_t time_ns = 0;
  bool has_time = false;
  std::string data;
  // The recorded data is shorter than what the program read or wrote (or,
  // with empty data, marks a gap the tapper could not see).
  bool truncated = false;
};

// Where one record (one TraceWrapper) lies in its input file.
struct RecordLocation {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// A trace: one buffered record, or every streamed segment of one trace_id
// in one input file.
struct TraceSummary {
  size_t input = 0;  // index into the list of input files
  uint64_t trace_id = 0;
  bool streamed = false;
  std::vector<RecordLocation> records;
  std::optional<envoy::config::core::v3::Address> local;
  std::optional<envoy::config::core::v3::Address> remote;
  std::optional<uint32_t> pid;
  std::string process_name;
  bool undecrypted_tls = false;  // tapshim: TLS records no hooked call decrypted
  // tapshim: tapping began with the connection already open (a later
  // `tapshim attach`), so the trace starts mid-stream without a handshake.
  bool joined_late = false;
  // Which side opened the connection, when the trace says (tapshim's
  // extension); otherwise the higher port is taken for the client's.
  std::optional<bool> local_is_client;
  // Time of the first and last event; a trace without any timestamp takes
  // its file's modification time (see converter.cc).
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  bool has_time = false;
  uint64_t events = 0;
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t truncated_events = 0;
  bool read_truncated = false;
  bool write_truncated = false;
};

}  // namespace tapshim::tap2pcap
