#include "tools/capture/packet_builder.h"

#include <gtest/gtest.h>

#include "tools/capture/checksum.h"

namespace tapshim::tap2pcap {
namespace {

IpEndpoint endpoint(const char* address, uint16_t port) { return *parseIpAddress(address, port); }

uint16_t at16(const std::string& frame, size_t offset) {
  return static_cast<uint16_t>(static_cast<uint8_t>(frame[offset]) << 8 |
                               static_cast<uint8_t>(frame[offset + 1]));
}

uint32_t at32(const std::string& frame, size_t offset) {
  return static_cast<uint32_t>(at16(frame, offset)) << 16 | at16(frame, offset + 2);
}

// The TCP checksum over pseudo-header and segment, which is 0 when valid.
uint16_t tcpCheck(const std::string& frame, bool ipv6) {
  const size_t ip = kEthernetHeaderBytes;
  const size_t tcp = ip + (ipv6 ? kIpv6HeaderBytes : kIpv4HeaderBytes);
  InternetChecksum sum;
  const size_t address_bytes = ipv6 ? 16 : 4;
  sum.add(std::string_view(frame).substr(ip + (ipv6 ? 8 : 12), 2 * address_bytes));
  sum.addWord(6);
  sum.addWord(static_cast<uint16_t>(frame.size() - tcp));
  sum.add(std::string_view(frame).substr(tcp));
  return sum.value();
}

TEST(PacketBuilderTest, Ipv4FrameLayoutAndChecksums) {
  TcpSegment segment;
  segment.source = endpoint("10.0.0.1", 40000);
  segment.destination = endpoint("10.0.0.2", 80);
  segment.seq = 0x01020304;
  segment.ack = 0x05060708;
  segment.flags = tcp_flags::kAck | tcp_flags::kPsh;
  segment.window = 0x2000;
  segment.payload = "hello";
  FrameStyle style;
  style.ttl = 255;
  style.ip_id = 0x1234;
  style.dont_fragment = false;
  const std::string frame = buildFrame(segment, style);
  ASSERT_EQ(frame.size(), 54u + 5);
  EXPECT_EQ(at16(frame, 12), 0x0800);
  EXPECT_EQ(static_cast<uint8_t>(frame[14]), 0x45);
  EXPECT_EQ(at16(frame, 16), 20 + 20 + 5);  // total length
  EXPECT_EQ(at16(frame, 18), 0x1234);
  EXPECT_EQ(at16(frame, 20), 0);  // no DF
  EXPECT_EQ(static_cast<uint8_t>(frame[22]), 255);
  EXPECT_EQ(static_cast<uint8_t>(frame[23]), 6);
  InternetChecksum ip;
  ip.add(std::string_view(frame).substr(14, 20));
  EXPECT_EQ(ip.value(), 0);
  EXPECT_EQ(at16(frame, 34), 40000);
  EXPECT_EQ(at16(frame, 36), 80);
  EXPECT_EQ(at32(frame, 38), 0x01020304u);
  EXPECT_EQ(at32(frame, 42), 0x05060708u);
  EXPECT_EQ(static_cast<uint8_t>(frame[46]), 0x50);
  EXPECT_EQ(static_cast<uint8_t>(frame[47]), 0x18);
  EXPECT_EQ(at16(frame, 48), 0x2000);
  EXPECT_EQ(tcpCheck(frame, false), 0);
  EXPECT_EQ(frame.substr(54), "hello");
}

TEST(PacketBuilderTest, Ipv6FrameWithOptions) {
  TcpSegment segment;
  segment.source = endpoint("::1", 40000);
  segment.destination = endpoint("2001:db8::5", 443);
  segment.flags = tcp_flags::kSyn;
  const std::string options("\x02\x04\xff\xeb\x01\x03\x03\x0e", 8);
  segment.options = options;
  segment.payload = "odd";
  const std::string frame = buildFrame(segment, FrameStyle{});
  ASSERT_EQ(frame.size(), 14u + 40 + 28 + 3);
  EXPECT_EQ(at16(frame, 12), 0x86dd);
  EXPECT_EQ(static_cast<uint8_t>(frame[14]) >> 4, 6);
  EXPECT_EQ(at16(frame, 18), 28 + 3);  // payload length
  EXPECT_EQ(static_cast<uint8_t>(frame[20]), 6);
  EXPECT_EQ(static_cast<uint8_t>(frame[54 + 12]), 0x70);  // 28-byte TCP header
  EXPECT_EQ(tcpCheck(frame, true), 0);
}

TEST(PacketBuilderTest, LargestPayloadsFitTheLengthFields) {
  EXPECT_EQ(maxTcpPayload(false, 0), 65495u);
  EXPECT_EQ(maxTcpPayload(true, 0), 65515u);
  TcpSegment segment;
  segment.source = endpoint("10.0.0.1", 1);
  segment.destination = endpoint("10.0.0.2", 2);
  const std::string payload(maxTcpPayload(false, 0), 'x');
  segment.payload = payload;
  const std::string frame = buildFrame(segment, FrameStyle{});
  EXPECT_EQ(at16(frame, 16), 0xffff);
  EXPECT_EQ(tcpCheck(frame, false), 0);
}

TEST(IpEndpointTest, ParsesWhatEnvoyWrites) {
  EXPECT_EQ(endpoint("127.0.0.1", 80).toString(), "127.0.0.1:80");
  EXPECT_EQ(endpoint("::1", 80).toString(), "[::1]:80");
  EXPECT_EQ(endpoint("fe80::1%eth0", 80).toString(), "[fe80::1]:80");
  EXPECT_EQ(endpoint("10.1.2.3", 7).asIpv6().toString(), "[::ffff:10.1.2.3]:7");
  EXPECT_FALSE(parseIpAddress("localhost", 80));
  EXPECT_FALSE(parseIpAddress("", 80));
}

}  // namespace
}  // namespace tapshim::tap2pcap
