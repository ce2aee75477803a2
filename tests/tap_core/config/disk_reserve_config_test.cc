// TAP_DISK_RESERVE: bytes with an optional K/M/G suffix, or a percentage of
// the trace file system; 5% when unset; anything else turns tapping off
// with one line naming the variable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tap_core/config/config.h"

namespace tapshim::core {
namespace {

using ::testing::IsEmpty;

ConfigResult parseReserve(const std::string& value) {
  return parseConfig(Environment(
      Environment::Entries{{"TAP_PATH_PREFIX", "/tmp/tap/trace"}, {"TAP_DISK_RESERVE", value}}));
}

TEST(DiskReserveConfigTest, DefaultIsFivePercent) {
  const ConfigResult result =
      parseConfig(Environment(Environment::Entries{{"TAP_PATH_PREFIX", "/tmp/tap/trace"}}));
  ASSERT_THAT(result.error, IsEmpty());
  EXPECT_EQ(result.config.disk_reserve_percent, 5u);
  EXPECT_EQ(result.config.disk_reserve_bytes, 0u);
}

TEST(DiskReserveConfigTest, PercentagesFromZeroToAHundred) {
  for (const auto& [text, percent] :
       {std::pair{"0%", 0u}, std::pair{"1%", 1u}, std::pair{"50%", 50u}, std::pair{"100%", 100u}}) {
    const ConfigResult result = parseReserve(text);
    ASSERT_THAT(result.error, IsEmpty()) << text;
    EXPECT_EQ(result.config.disk_reserve_percent, percent) << text;
    EXPECT_EQ(result.config.disk_reserve_bytes, 0u) << text;
  }
}

TEST(DiskReserveConfigTest, BytesWithBinarySuffixesInEitherCase) {
  for (const auto& [text, bytes] :
       {std::pair{"0", uint64_t{0}}, std::pair{"4096", uint64_t{4096}},
        std::pair{"64k", uint64_t{64} << 10}, std::pair{"64K", uint64_t{64} << 10},
        std::pair{"10M", uint64_t{10} << 20}, std::pair{"2g", uint64_t{2} << 30},
        std::pair{"17179869183G", uint64_t{17179869183} << 30}}) {
    const ConfigResult result = parseReserve(text);
    ASSERT_THAT(result.error, IsEmpty()) << text;
    EXPECT_EQ(result.config.disk_reserve_bytes, bytes) << text;
    EXPECT_EQ(result.config.disk_reserve_percent, 0u) << text;  // bytes replace the default
  }
}

TEST(DiskReserveConfigTest, AnythingElseIsRefusedWithOnePreciseLine) {
  for (const char* text : {"", "%", "101%", "-1", "5 %", " 5%", "1.5%", "10KB", "10T", "k",
                           "18446744073709551616", "17179869184G", "0x10", "5%%"}) {
    const ConfigResult result = parseReserve(text);
    EXPECT_FALSE(result.config.enabled) << text;
    EXPECT_EQ(result.error, std::string("TAP_DISK_RESERVE: '") + text +
                                "' is not a byte count (with an optional K, M or G suffix) or a "
                                "percentage (0% to 100%); tapping is off");
  }
}

}  // namespace
}  // namespace tapshim::core
