#include "tools/capture/capture_writer.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tapshim::tap2pcap {
namespace {

uint32_t le32(const std::string& s, size_t at) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = value << 8 | static_cast<uint8_t>(s[at + i]);
  return value;
}

uint16_t le16(const std::string& s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) | static_cast<uint8_t>(s[at + 1]) << 8);
}

// Block types and lengths of a pcapng file, checking each trailing length.
std::vector<std::pair<uint32_t, uint32_t>> blocks(const std::string& file) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (size_t at = 0; at < file.size();) {
    const uint32_t length = le32(file, at + 4);
    EXPECT_EQ(length % 4, 0u);
    EXPECT_EQ(le32(file, at + length - 4), length);
    out.emplace_back(le32(file, at), length);
    at += length;
  }
  return out;
}

TEST(PcapngWriterTest, SectionInterfaceAndPacketBlocks) {
  std::ostringstream out;
  auto writer = makeCaptureWriter(CaptureFormat::kPcapng, out);
  CapturedPacket packet;
  packet.time_ns = 1'525'207'293'216'737'962;
  const std::string frame(61, 'f');  // not a multiple of 4: padded
  packet.frame = frame;
  packet.direction = PacketDirection::kInbound;
  packet.comment = "a comment";
  writer->writePacket(packet);
  packet.comment = "";
  packet.direction = PacketDirection::kUnknown;
  writer->writePacket(packet);
  const std::string file = out.str();
  const auto found = blocks(file);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].first, 0x0A0D0D0Au);
  EXPECT_EQ(le32(file, 8), 0x1A2B3C4Du);
  EXPECT_EQ(found[1].first, 1u);
  const size_t idb = found[0].second;
  EXPECT_EQ(le16(file, idb + 8), 1);  // Ethernet
  // if_tsresol = 9 among the interface options.
  EXPECT_NE(file.substr(idb, found[1].second).find(std::string("\x09\x00\x01\x00\x09", 5)),
            std::string::npos);
  const size_t epb = idb + found[1].second;
  EXPECT_EQ(found[2].first, 6u);
  const uint64_t time = static_cast<uint64_t>(le32(file, epb + 12)) << 32 | le32(file, epb + 16);
  EXPECT_EQ(time, 1'525'207'293'216'737'962u);
  EXPECT_EQ(le32(file, epb + 20), 61u);
  EXPECT_EQ(le32(file, epb + 24), 61u);
  const size_t options = epb + 28 + 64;
  EXPECT_EQ(le16(file, options), 1);  // opt_comment
  EXPECT_EQ(le16(file, options + 2), 9);
  EXPECT_EQ(file.substr(options + 4, 9), "a comment");
  EXPECT_EQ(le16(file, options + 16), 2);    // epb_flags
  EXPECT_EQ(le32(file, options + 20), 1u);   // inbound
  EXPECT_EQ(le16(file, options + 24), 0);    // end of options
  EXPECT_EQ(found[3].second, 28u + 64 + 4);  // no options at all
}

TEST(PcapWriterTest, NanosecondHeaderAndRecords) {
  std::ostringstream out;
  auto writer = makeCaptureWriter(CaptureFormat::kPcap, out);
  CapturedPacket packet;
  packet.time_ns = 1'525'207'293'216'737'962;
  packet.frame = "abc";
  packet.comment = "not in pcap";
  writer->writePacket(packet);
  const std::string file = out.str();
  ASSERT_EQ(file.size(), 24u + 16 + 3);
  EXPECT_EQ(le32(file, 0), 0xa1b23c4du);
  EXPECT_EQ(le16(file, 4), 2);
  EXPECT_EQ(le16(file, 6), 4);
  EXPECT_EQ(le32(file, 20), 1u);
  EXPECT_EQ(le32(file, 24), 1'525'207'293u);
  EXPECT_EQ(le32(file, 28), 216'737'962u);
  EXPECT_EQ(le32(file, 32), 3u);
  EXPECT_EQ(file.substr(40), "abc");
}

}  // namespace
}  // namespace tapshim::tap2pcap
