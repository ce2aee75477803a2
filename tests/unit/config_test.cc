// parseConfig: the environment is read once and either fully understood
// or refused with one line naming the variable; never a guessed setting.
#include "tap_core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace tapshim::core {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

ConfigResult parse(Environment::Entries entries) {
  return parseConfig(Environment(std::move(entries)));
}

// A prefix plus one more variable.
ConfigResult parseWith(std::string name, std::string value) {
  return parse({{"TAP_PATH_PREFIX", "/tmp/tap/trace"}, {std::move(name), std::move(value)}});
}

void expectRefused(const ConfigResult& result, const std::string& variable) {
  EXPECT_FALSE(result.config.enabled);
  EXPECT_THAT(result.error, HasSubstr(variable));
}

TEST(ConfigTest, UnsetPrefixLeavesTheShimInertWithoutError) {
  const ConfigResult result = parse({});
  EXPECT_FALSE(result.config.enabled);
  EXPECT_THAT(result.error, IsEmpty());
}

TEST(ConfigTest, UnsetPrefixIgnoresEveryOtherVariableEvenWrongOnes) {
  const ConfigResult result = parse({{"TAP_MAX_BUFFERED_RX_BYTES", "lots"},
                                     {"TAP_FORMAT", "yaml"},
                                     {"TAP_STREAMING", "1"},
                                     {"TAP_MATCH", "port 443"}});
  EXPECT_FALSE(result.config.enabled);
  EXPECT_THAT(result.error, IsEmpty());
}

TEST(ConfigTest, EmptyPrefixIsAnError) {
  expectRefused(parse({{"TAP_PATH_PREFIX", ""}}), "TAP_PATH_PREFIX");
}

TEST(ConfigTest, PrefixAloneEnablesWithEnvoyDefaults) {
  const ConfigResult result = parse({{"TAP_PATH_PREFIX", "/tmp/tap/trace"}});
  EXPECT_THAT(result.error, IsEmpty());
  EXPECT_TRUE(result.config.enabled);
  EXPECT_EQ(result.config.path_prefix, "/tmp/tap/trace");
  EXPECT_EQ(result.config.max_buffered_rx_bytes, 1024u);
  EXPECT_EQ(result.config.max_buffered_tx_bytes, 1024u);
  EXPECT_EQ(result.config.format, OutputFormat::kProtoBinary);
}

TEST(ConfigTest, PrefixIsKeptExactlyAsGiven) {
  // Envoy adds no separator and creates no directory: "/x/" names "/x/_7.pb".
  EXPECT_EQ(parse({{"TAP_PATH_PREFIX", "/x/"}}).config.path_prefix, "/x/");
}

TEST(ConfigTest, ValidLimitsAreParsed) {
  const ConfigResult result = parse({{"TAP_PATH_PREFIX", "p"},
                                     {"TAP_MAX_BUFFERED_RX_BYTES", "0"},
                                     {"TAP_MAX_BUFFERED_TX_BYTES", "4294967295"}});
  EXPECT_THAT(result.error, IsEmpty());
  EXPECT_TRUE(result.config.enabled);
  EXPECT_EQ(result.config.max_buffered_rx_bytes, 0u);
  EXPECT_EQ(result.config.max_buffered_tx_bytes, 4294967295u);
  EXPECT_EQ(parseWith("TAP_MAX_BUFFERED_RX_BYTES", "65536").config.max_buffered_rx_bytes, 65536u);
}

class BadLimitTest : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(BadLimitTest, IsRefusedNamingTheVariable) {
  const auto [variable, value] = GetParam();
  const ConfigResult result = parseWith(variable, value);
  expectRefused(result, variable);
  EXPECT_EQ(result.config.max_buffered_rx_bytes, 1024u);  // nothing half-applied
  EXPECT_EQ(result.config.max_buffered_tx_bytes, 1024u);
}

INSTANTIATE_TEST_SUITE_P(ConfigTest, BadLimitTest,
                         ::testing::Values(std::pair{"TAP_MAX_BUFFERED_RX_BYTES", "-1"},
                                           std::pair{"TAP_MAX_BUFFERED_RX_BYTES", "1x"},
                                           std::pair{"TAP_MAX_BUFFERED_RX_BYTES", ""},
                                           std::pair{"TAP_MAX_BUFFERED_RX_BYTES", " 5"},
                                           std::pair{"TAP_MAX_BUFFERED_RX_BYTES", "4294967296"},
                                           std::pair{"TAP_MAX_BUFFERED_RX_BYTES", "99999999999"},
                                           std::pair{"TAP_MAX_BUFFERED_TX_BYTES", "-1"},
                                           std::pair{"TAP_MAX_BUFFERED_TX_BYTES", "1x"},
                                           std::pair{"TAP_MAX_BUFFERED_TX_BYTES", ""},
                                           std::pair{"TAP_MAX_BUFFERED_TX_BYTES", " 5"},
                                           std::pair{"TAP_MAX_BUFFERED_TX_BYTES", "4294967296"}));

TEST(ConfigTest, ProtoBinaryFormatIsAcceptedInEitherCase) {
  for (const char* value : {"proto_binary", "PROTO_BINARY"}) {
    const ConfigResult result = parseWith("TAP_FORMAT", value);
    EXPECT_THAT(result.error, IsEmpty()) << value;
    EXPECT_TRUE(result.config.enabled) << value;
    EXPECT_EQ(result.config.format, OutputFormat::kProtoBinary) << value;
  }
}

TEST(ConfigTest, OtherFormatsAreRefusedNamingTapFormat) {
  for (const char* value : {"json_body_as_bytes", "proto_text", "proto_binary_length_delimited", "",
                            "proto_binary ", "pcap"}) {
    expectRefused(parseWith("TAP_FORMAT", value), "TAP_FORMAT");
  }
}

TEST(ConfigTest, FilePerTapSinkIsAcceptedAndOthersRefused) {
  const ConfigResult accepted = parseWith("TAP_SINK", "file_per_tap");
  EXPECT_THAT(accepted.error, IsEmpty());
  EXPECT_TRUE(accepted.config.enabled);
  for (const char* value : {"file_per_process", "udp", ""}) {
    expectRefused(parseWith("TAP_SINK", value), "TAP_SINK");
  }
}

TEST(ConfigTest, NotYetSupportedVariablesDisableTapping) {
  for (const char* variable :
       {"TAP_MATCH", "TAP_CONFIG", "TAP_KEYLOG", "TAP_MIN_STREAMED_SENT_BYTES"}) {
    expectRefused(parseWith(variable, "anything"), variable);
  }
  for (const char* value : {"1", "true", "yes"}) {
    expectRefused(parseWith("TAP_STREAMING", value), "TAP_STREAMING");
    expectRefused(parseWith("TAP_CONNECTION_PER_EVENT", value), "TAP_CONNECTION_PER_EVENT");
  }
}

TEST(ConfigTest, StreamingSwitchedOffIsFine) {
  for (const char* value : {"0", "false", "FALSE", "no", ""}) {
    const ConfigResult result = parseWith("TAP_STREAMING", value);
    EXPECT_THAT(result.error, IsEmpty()) << value;
    EXPECT_TRUE(result.config.enabled) << value;
  }
}

TEST(ConfigTest, ErrorIsOneLine) {
  const ConfigResult result = parseWith("TAP_FORMAT", "json");
  ASSERT_THAT(result.error, ::testing::Not(IsEmpty()));
  EXPECT_EQ(result.error.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace tapshim::core
