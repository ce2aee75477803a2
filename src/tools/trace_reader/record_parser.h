// Parses one record (see record_scanner.h) into a TraceWrapper with
// libprotobuf, and undoes the old Connection numbering of binary files.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "envoy/data/tap/v3/wrapper.pb.h"
#include "tools/trace_reader/trace_format.h"

namespace tapshim::tap2pcap {

// How binary records number Connection's addresses: Envoy <= 1.27 and the
// v2alpha schema use local = 2, remote = 3; current Envoy and tapshim 1, 2.
enum class ConnectionNumbering {
  kDetect,  // old when a Connection has field 3 and no field 1
  kOld,     // always old (--old-connection-numbering)
};

// @return an error naming the problem (not the file) if the record is not
//         a socket trace.
absl::Status parseRecord(std::string_view record, TraceFormat format, ConnectionNumbering numbering,
                         envoy::data::tap::v3::TraceWrapper* wrapper);

// Rewrites every Connection in *wrapper that uses (or, with kOld, is said to
// use) the old numbering to the current one. Exposed for tests.
void fixConnectionNumbering(ConnectionNumbering numbering,
                            envoy::data::tap::v3::TraceWrapper* wrapper);

}  // namespace tapshim::tap2pcap
