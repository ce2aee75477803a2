#include "tools/capture/checksum.h"

#include <gtest/gtest.h>

namespace tapshim::tap2pcap {
namespace {

TEST(InternetChecksumTest, MatchesRfc1071Example) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
  InternetChecksum sum;
  sum.add(std::string_view("\x00\x01\xf2\x03\xf4\xf5\xf6\xf7", 8));
  EXPECT_EQ(sum.value(), static_cast<uint16_t>(~0xddf2));
}

TEST(InternetChecksumTest, KnownIpv4Header) {
  // A classic example header whose checksum is b861.
  const std::string header(
      "\x45\x00\x00\x73\x00\x00\x40\x00\x40\x11\x00\x00\xc0\xa8\x00\x01"
      "\xc0\xa8\x00\xc7",
      20);
  InternetChecksum sum;
  sum.add(header);
  EXPECT_EQ(sum.value(), 0xb861);
}

TEST(InternetChecksumTest, OddLengthPadsWithZeroAndSplitsAnywhere) {
  InternetChecksum whole;
  whole.add(std::string_view("\x12\x34\x56", 3));
  InternetChecksum padded;
  padded.add(std::string_view("\x12\x34\x56\x00", 4));
  EXPECT_EQ(whole.value(), padded.value());
  InternetChecksum pieces;
  pieces.add(std::string_view("\x12", 1));
  pieces.add(std::string_view("\x34\x56", 2));
  EXPECT_EQ(pieces.value(), whole.value());
}

TEST(InternetChecksumTest, DataWithItsChecksumSumsToZero) {
  std::string data = "even-length data";
  InternetChecksum sum;
  sum.add(data);
  const uint16_t value = sum.value();
  data.push_back(static_cast<char>(value >> 8));
  data.push_back(static_cast<char>(value & 0xff));
  InternetChecksum check;
  check.add(data);
  EXPECT_EQ(check.value(), 0);
}

}  // namespace
}  // namespace tapshim::tap2pcap
