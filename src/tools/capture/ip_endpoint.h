// An IPv4 or IPv6 address and a TCP port, as packets carry them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tapshim::tap2pcap {

struct IpEndpoint {
  bool ipv6 = false;
  std::array<uint8_t, 16> address{};  // IPv4 uses the first 4 bytes
  uint16_t port = 0;

  // "1.2.3.4:80" or "[::1]:80".
  std::string toString() const;
  // The same endpoint as an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
  IpEndpoint asIpv6() const;
  bool operator==(const IpEndpoint&) const = default;
  auto operator<=>(const IpEndpoint&) const = default;
};

// Parses a textual IPv4 or IPv6 address as Envoy writes it ("::1", without
// brackets; a "%zone" suffix is dropped). Nothing for anything else.
std::optional<IpEndpoint> parseIpAddress(std::string_view text, uint16_t port);

}  // namespace tapshim::tap2pcap
