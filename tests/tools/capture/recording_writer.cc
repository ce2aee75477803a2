#include "tests/tools/capture/recording_writer.h"

namespace tapshim::tap2pcap::testing {

namespace {
uint16_t be16(const std::string& s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) << 8 | static_cast<uint8_t>(s[at + 1]));
}
uint32_t be32(const std::string& s, size_t at) {
  return static_cast<uint32_t>(be16(s, at)) << 16 | be16(s, at + 2);
}
}  // namespace

void RecordingWriter::writePacket(const CapturedPacket& packet) {
  RecordedPacket out;
  out.time_ns = packet.time_ns;
  out.frame = std::string(packet.frame);
  out.direction = packet.direction;
  out.comment = std::string(packet.comment);
  const bool ipv6 = be16(out.frame, 12) == 0x86dd;
  const size_t tcp = kEthernetHeaderBytes + (ipv6 ? kIpv6HeaderBytes : kIpv4HeaderBytes);
  out.source_port = be16(out.frame, tcp);
  out.destination_port = be16(out.frame, tcp + 2);
  out.seq = be32(out.frame, tcp + 4);
  out.ack = be32(out.frame, tcp + 8);
  out.flags = static_cast<uint8_t>(out.frame[tcp + 13]);
  out.payload = out.frame.substr(tcp + (static_cast<uint8_t>(out.frame[tcp + 12]) >> 4) * 4);
  packets.push_back(out);
}

}  // namespace tapshim::tap2pcap::testing
