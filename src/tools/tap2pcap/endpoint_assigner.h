// Chooses the addresses and ports a trace's packets carry.
//
// A side with an IP address and a port keeps them. A side without (a unix
// socket, an address or port the trace does not know) gets a fake endpoint:
// the k-th fake endpoint of a capture (k = 0, 1, ... in the order traces
// start) is 198.18.0.0/15 address number 1 + k / 50000 with port
// 10000 + k % 50000, or the same in 2001:2::/48 when the other side is IPv6
// (both are benchmarking ranges, RFC 2544 and RFC 5180, never on a real
// network). Fake endpoints are never reused, so they never collide. When two
// traces would share all four of address and port (the two ends of one
// loopback connection, or a reused port), the later trace's client side is
// given a fake endpoint so that Wireshark keeps them apart. Each of these
// choices is written in the connection's comment.
#pragma once

#include <set>
#include <string>
#include <utility>

#include "envoy/config/core/v3/address.pb.h"
#include "tools/capture/ip_endpoint.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::tap2pcap {

struct ConversationEndpoints {
  IpEndpoint local;
  IpEndpoint remote;
  // The side that sends the SYN. Traces do not say who connected; the side
  // with the higher port (an ephemeral one, as a rule) is taken as the
  // client, and local on a tie.
  bool local_is_client = true;
  // What stands in for what, for the connection comment; empty if nothing.
  std::string note;
};

class EndpointAssigner {
 public:
  ConversationEndpoints assign(const TraceSummary& trace);

 private:
  IpEndpoint nextFake(bool ipv6);

  uint64_t fakes_ = 0;
  std::set<std::pair<IpEndpoint, IpEndpoint>> conversations_;
};

// "127.0.0.1:80", "unix socket /run/x.sock", "unknown", ...
std::string describeAddress(const std::optional<envoy::config::core::v3::Address>& address);

}  // namespace tapshim::tap2pcap
