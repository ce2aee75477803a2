// Builds Ethernet + IPv4/IPv6 + TCP frames with valid checksums.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/capture/ip_endpoint.h"

namespace tapshim::tap2pcap {

namespace tcp_flags {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
}  // namespace tcp_flags

struct TcpSegment {
  IpEndpoint source;
  IpEndpoint destination;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = tcp_flags::kAck;
  uint16_t window = 0xffff;
  std::string_view options;  // TCP options, a multiple of 4 bytes
  std::string_view payload;
};

// The parts of a frame that the capture's style decides, not the trace.
struct FrameStyle {
  std::array<uint8_t, 6> source_mac{};
  std::array<uint8_t, 6> destination_mac{};
  uint8_t ttl = 64;
  uint16_t ip_id = 0;
  bool dont_fragment = true;
};

inline constexpr size_t kEthernetHeaderBytes = 14;
inline constexpr size_t kIpv4HeaderBytes = 20;
inline constexpr size_t kIpv6HeaderBytes = 40;
inline constexpr size_t kTcpHeaderBytes = 20;

// The most payload one segment can carry: IPv4's total length and IPv6's
// payload length are 16-bit fields.
size_t maxTcpPayload(bool ipv6, size_t option_bytes);

// The frame for `segment`; its payload must fit (maxTcpPayload).
std::string buildFrame(const TcpSegment& segment, const FrameStyle& style);

}  // namespace tapshim::tap2pcap
