#include "tools/capture/ip_endpoint.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {

std::string IpEndpoint::toString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, address.data(), text, sizeof(text));
  if (ipv6) return absl::StrCat("[", text, "]:", port);
  return absl::StrCat(text, ":", port);
}

IpEndpoint IpEndpoint::asIpv6() const {
  if (ipv6) return *this;
  IpEndpoint mapped;
  mapped.ipv6 = true;
  mapped.port = port;
  mapped.address[10] = 0xff;
  mapped.address[11] = 0xff;
  std::copy(address.begin(), address.begin() + 4, mapped.address.begin() + 12);
  return mapped;
}

std::optional<IpEndpoint> parseIpAddress(std::string_view text, uint16_t port) {
  std::string address(text.substr(0, text.find('%')));
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  IpEndpoint endpoint;
  endpoint.port = port;
  if (inet_pton(AF_INET, address.c_str(), endpoint.address.data()) == 1) return endpoint;
  endpoint.ipv6 = true;
  if (inet_pton(AF_INET6, address.c_str(), endpoint.address.data()) == 1) return endpoint;
  return std::nullopt;
}

}  // namespace tapshim::tap2pcap
