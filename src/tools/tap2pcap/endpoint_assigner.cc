#include "tools/tap2pcap/endpoint_assigner.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tapshim::tap2pcap {
namespace {

using envoy::config::core::v3::Address;

constexpr uint64_t kFakePortsPerAddress = 50000;
constexpr uint16_t kFirstFakePort = 10000;
constexpr uint32_t kFakeIpv4Base = 0xC6120000;  // 198.18.0.0/15

std::optional<IpEndpoint> realEndpoint(const std::optional<Address>& address) {
  if (!address || !address->has_socket_address()) return std::nullopt;
  const auto& socket = address->socket_address();
  if (socket.port_value() == 0 || socket.port_value() > 0xffff) return std::nullopt;
  return parseIpAddress(socket.address(), static_cast<uint16_t>(socket.port_value()));
}

std::pair<IpEndpoint, IpEndpoint> conversationKey(const IpEndpoint& a, const IpEndpoint& b) {
  return a < b ? std::make_pair(a, b) : std::make_pair(b, a);
}

}  // namespace

std::string describeAddress(const std::optional<Address>& address) {
  if (!address) return "unknown";
  if (address->has_socket_address()) {
    const auto& socket = address->socket_address();
    const std::string host = socket.address().find(':') != std::string::npos
                                 ? absl::StrCat("[", socket.address(), "]")
                                 : socket.address();
    if (socket.has_named_port()) return absl::StrCat(host, ":", socket.named_port());
    if (socket.port_value() == 0) return absl::StrCat(host, " (port unknown)");
    return absl::StrCat(host, ":", socket.port_value());
  }
  if (address->has_pipe()) return absl::StrCat("unix socket ", address->pipe().path());
  if (address->has_envoy_internal_address()) {
    return absl::StrCat("envoy internal address ",
                        address->envoy_internal_address().server_listener_name());
  }
  return "unknown";
}

IpEndpoint EndpointAssigner::nextFake(bool ipv6) {
  const uint64_t k = fakes_++;
  const uint64_t host = 1 + k / kFakePortsPerAddress;
  IpEndpoint fake;
  fake.port = static_cast<uint16_t>(kFirstFakePort + k % kFakePortsPerAddress);
  fake.ipv6 = ipv6;
  if (ipv6) {
    fake.address = {0x20, 0x01, 0x00, 0x02};  // 2001:2::/48
    for (int i = 0; i < 8; ++i) fake.address[15 - i] = static_cast<uint8_t>(host >> (8 * i));
  } else {
    const uint32_t ip = kFakeIpv4Base + static_cast<uint32_t>(host & 0x1ffff);
    for (int i = 0; i < 4; ++i) fake.address[3 - i] = static_cast<uint8_t>(ip >> (8 * i));
  }
  return fake;
}

ConversationEndpoints EndpointAssigner::assign(const TraceSummary& trace) {
  std::optional<IpEndpoint> local = realEndpoint(trace.local);
  std::optional<IpEndpoint> remote = realEndpoint(trace.remote);
  if (local && remote && local->ipv6 != remote->ipv6) {
    local = local->asIpv6();
    remote = remote->asIpv6();
  }
  const bool ipv6 = (local && local->ipv6) || (remote && remote->ipv6);
  std::vector<std::string> notes;
  ConversationEndpoints out;
  if (local) {
    out.local = *local;
  } else {
    out.local = nextFake(ipv6);
    notes.push_back(
        absl::StrCat("local ", describeAddress(trace.local), " shown as ", out.local.toString()));
  }
  if (remote) {
    out.remote = *remote;
  } else {
    out.remote = nextFake(ipv6);
    notes.push_back(absl::StrCat("remote ", describeAddress(trace.remote), " shown as ",
                                 out.remote.toString()));
  }
  out.local_is_client = trace.local_is_client.value_or(out.local.port >= out.remote.port);
  if (conversations_.count(conversationKey(out.local, out.remote)) != 0) {
    IpEndpoint& client = out.local_is_client ? out.local : out.remote;
    const std::string was = client.toString();
    client = nextFake(ipv6);
    notes.push_back(absl::StrCat(
        out.local_is_client ? "local " : "remote ", was, " shown as ", client.toString(),
        " (another trace in this capture has the same addresses and ports)"));
  }
  conversations_.insert(conversationKey(out.local, out.remote));
  out.note = absl::StrJoin(notes, "; ");
  return out;
}

}  // namespace tapshim::tap2pcap
