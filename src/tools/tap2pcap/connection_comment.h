// The pcapng comment on a connection's first packet: which trace, which
// process, the addresses as the trace has them, and what is missing.
#pragma once

#include <string>

#include "tools/tap2pcap/endpoint_assigner.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::tap2pcap {

std::string connectionComment(const TraceSummary& trace, const std::string& input_path,
                              const ConversationEndpoints& endpoints);

}  // namespace tapshim::tap2pcap
