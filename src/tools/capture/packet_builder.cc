#include "tools/capture/packet_builder.h"

#include "tools/capture/checksum.h"

namespace tapshim::tap2pcap {
namespace {

constexpr uint8_t kTcpProtocol = 6;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

void put16(std::string* out, uint16_t value) {
  out->push_back(static_cast<char>(value >> 8));
  out->push_back(static_cast<char>(value & 0xff));
}

void put32(std::string* out, uint32_t value) {
  put16(out, static_cast<uint16_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value & 0xffff));
}

void putBytes(std::string* out, const uint8_t* bytes, size_t size) {
  out->append(reinterpret_cast<const char*>(bytes), size);
}

void store16(std::string* out, size_t at, uint16_t value) {
  (*out)[at] = static_cast<char>(value >> 8);
  (*out)[at + 1] = static_cast<char>(value & 0xff);
}

}  // namespace

size_t maxTcpPayload(bool ipv6, size_t option_bytes) {
  const size_t headers = kTcpHeaderBytes + option_bytes + (ipv6 ? 0 : kIpv4HeaderBytes);
  return 0xffff - headers;
}

std::string buildFrame(const TcpSegment& segment, const FrameStyle& style) {
  const bool ipv6 = segment.source.ipv6;
  const size_t address_bytes = ipv6 ? 16 : 4;
  const size_t tcp_bytes = kTcpHeaderBytes + segment.options.size() + segment.payload.size();
  std::string frame;
  frame.reserve(kEthernetHeaderBytes + kIpv6HeaderBytes + tcp_bytes);

  putBytes(&frame, style.destination_mac.data(), 6);
  putBytes(&frame, style.source_mac.data(), 6);
  put16(&frame, ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4);

  const size_t ip_start = frame.size();
  if (ipv6) {
    put32(&frame, 0x60000000);
    put16(&frame, static_cast<uint16_t>(tcp_bytes));
    frame.push_back(static_cast<char>(kTcpProtocol));
    frame.push_back(static_cast<char>(style.ttl));
  } else {
    frame.push_back(0x45);
    frame.push_back(0);
    put16(&frame, static_cast<uint16_t>(kIpv4HeaderBytes + tcp_bytes));
    put16(&frame, style.ip_id);
    put16(&frame, style.dont_fragment ? 0x4000 : 0);
    frame.push_back(static_cast<char>(style.ttl));
    frame.push_back(static_cast<char>(kTcpProtocol));
    put16(&frame, 0);  // checksum, below
  }
  putBytes(&frame, segment.source.address.data(), address_bytes);
  putBytes(&frame, segment.destination.address.data(), address_bytes);
  if (!ipv6) {
    InternetChecksum header;
    header.add(std::string_view(frame).substr(ip_start, kIpv4HeaderBytes));
    store16(&frame, ip_start + 10, header.value());
  }

  const size_t tcp_start = frame.size();
  put16(&frame, segment.source.port);
  put16(&frame, segment.destination.port);
  put32(&frame, segment.seq);
  put32(&frame, segment.ack);
  frame.push_back(static_cast<char>(((kTcpHeaderBytes + segment.options.size()) / 4) << 4));
  frame.push_back(static_cast<char>(segment.flags));
  put16(&frame, segment.window);
  put16(&frame, 0);  // checksum, below
  put16(&frame, 0);  // urgent pointer
  frame.append(segment.options);
  frame.append(segment.payload);

  // The TCP checksum covers a pseudo-header of addresses, protocol and length.
  InternetChecksum tcp;
  tcp.add(segment.source.address.data(), address_bytes);
  tcp.add(segment.destination.address.data(), address_bytes);
  tcp.addWord(kTcpProtocol);
  tcp.addWord(static_cast<uint16_t>(tcp_bytes));
  tcp.add(std::string_view(frame).substr(tcp_start));
  store16(&frame, tcp_start + 16, tcp.value());
  return frame;
}

}  // namespace tapshim::tap2pcap
