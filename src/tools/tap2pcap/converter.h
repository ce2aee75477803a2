// tap2pcap's work: reads every input once to find its traces (trace_index),
// then writes their packets merged in time order, reading each trace's
// records again only while its connection is open (trace_cursor), so
// memory holds the records of the connections open at one time, not the
// inputs.
#pragma once

#include "absl/status/status.h"
#include "tools/tap2pcap/command_line.h"
#include "tools/tap2pcap/progress.h"

namespace tapshim::tap2pcap {

// @return an error whose message is one line naming the file at fault.
absl::Status convert(const Options& options, Progress* progress);

}  // namespace tapshim::tap2pcap
