// The pcapng comment on a connection's first packet: which trace, which
// process, the addresses as the trace has them, and what is missing.
#pragma once

#include <string>

#include "tools/tap2pcap/endpoint_assigner.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::tap2pcap {

// @param live the trace is still being written (tap2pcap --follow): its
//        counts and truncation are not known yet, and are left out (each
//        cut is still marked on its own packet).
std::string connectionComment(const TraceSummary& trace, const std::string& input_path,
                              const ConversationEndpoints& endpoints, bool live = false);

}  // namespace tapshim::tap2pcap
