// parseConfig: the environment is read once and either fully understood
// or refused with one line naming the variable; never a guessed setting.
#include "tap_core/config/config.h"

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

// Standby records nothing until an attach names the place: no prefix of
// its own, and the other variables are checked now (they are the attach's
// defaults).
// The shim skips parseConfig (and the page of constants it reads) when
// no TAP_* variable is set at all; XDG_RUNTIME_DIR alone is not one.
TEST(EnvironmentTest, AnyTapVariableLooksAtNamesOnly) {
  EXPECT_FALSE(Environment().anyTapVariable());
  using Entries = Environment::Entries;
  EXPECT_FALSE(Environment(Entries{{"XDG_RUNTIME_DIR", "/run/user/1000"}}).anyTapVariable());
  EXPECT_FALSE(Environment(Entries{{"TAPSHIM_LIB", "x"}, {"TA", "TAP_"}}).anyTapVariable());
  EXPECT_TRUE(
      Environment(Entries{{"XDG_RUNTIME_DIR", "/r"}, {"TAP_STANDBY", "0"}}).anyTapVariable());
  EXPECT_TRUE(Environment(Entries{{"TAP_", ""}}).anyTapVariable());
}

TEST(ConfigTest, StandbyNeedsNoPrefixAndRefusesOne) {
  const ConfigResult standby = parse({{"TAP_STANDBY", "1"}, {"XDG_RUNTIME_DIR", "/run/user/1000"}});
  EXPECT_THAT(standby.error, IsEmpty());
  EXPECT_TRUE(standby.config.enabled);
  EXPECT_TRUE(standby.config.standby);
  EXPECT_THAT(standby.config.path_prefix, IsEmpty());
  EXPECT_EQ(standby.config.runtime_dir, "/run/user/1000");
  EXPECT_FALSE(parse({{"TAP_STANDBY", "0"}}).config.enabled);
  expectRefused(parse({{"TAP_STANDBY", "maybe"}}), "TAP_STANDBY");
  expectRefused(parse({{"TAP_STANDBY", "1"}, {"TAP_PATH_PREFIX", "/tmp/t"}}), "TAP_PATH_PREFIX");
  expectRefused(parse({{"TAP_STANDBY", "1"}, {"TAP_FORMAT", "yaml"}}), "TAP_FORMAT");
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

TEST(ConfigTest, BufferedTotalIsA64BitByteCountWith64MiBByDefault) {
  EXPECT_EQ(parse({{"TAP_PATH_PREFIX", "p"}}).config.max_buffered_total_bytes, 64u << 20);
  EXPECT_EQ(parseWith("TAP_MAX_BUFFERED_TOTAL_BYTES", "0").config.max_buffered_total_bytes, 0u);
  const ConfigResult large = parseWith("TAP_MAX_BUFFERED_TOTAL_BYTES", "18446744073709551615");
  EXPECT_THAT(large.error, IsEmpty());
  EXPECT_EQ(large.config.max_buffered_total_bytes, UINT64_MAX);
}

TEST(ConfigTest, BadBufferedTotalIsRefusedInOneLine) {
  for (const char* value : {"-1", "64M", "", " 5", "1e9", "18446744073709551616"}) {
    const ConfigResult result = parseWith("TAP_MAX_BUFFERED_TOTAL_BYTES", value);
    EXPECT_EQ(result.error,
              std::string("TAP_MAX_BUFFERED_TOTAL_BYTES: '") + value +
                  "' is not a byte count (0 to 18446744073709551615); tapping is off");
    EXPECT_FALSE(result.config.enabled);
  }
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

TEST(ConfigTest, EveryEnvoyFormatIsAcceptedInEitherCase) {
  const std::pair<const char*, OutputFormat> formats[] = {
      {"proto_binary", OutputFormat::kProtoBinary},
      {"PROTO_BINARY", OutputFormat::kProtoBinary},
      {"proto_binary_length_delimited", OutputFormat::kProtoBinaryLengthDelimited},
      {"PROTO_TEXT", OutputFormat::kProtoText},
      {"json_body_as_bytes", OutputFormat::kJsonBodyAsBytes},
      {"JSON_BODY_AS_STRING", OutputFormat::kJsonBodyAsString},
  };
  for (const auto& [value, format] : formats) {
    const ConfigResult result = parseWith("TAP_FORMAT", value);
    EXPECT_THAT(result.error, IsEmpty()) << value;
    EXPECT_TRUE(result.config.enabled) << value;
    EXPECT_EQ(result.config.format, format) << value;
  }
}

TEST(ConfigTest, UnknownFormatsAreRefusedNamingTapFormat) {
  for (const char* value : {"", "proto_binary ", "pcap", "json", "bogus"}) {
    expectRefused(parseWith("TAP_FORMAT", value), "TAP_FORMAT");
  }
}

TEST(ConfigTest, DefaultFormatIsBinaryWhenBufferedAndLengthDelimitedWhenStreaming) {
  EXPECT_EQ(parse({{"TAP_PATH_PREFIX", "p"}}).config.format, OutputFormat::kProtoBinary);
  EXPECT_EQ(parse({{"TAP_PATH_PREFIX", "p"}, {"TAP_STREAMING", "1"}}).config.format,
            OutputFormat::kProtoBinaryLengthDelimited);
  EXPECT_EQ(parse({{"TAP_PATH_PREFIX", "p"}, {"TAP_STREAMING", "1"}, {"TAP_FORMAT", "proto_text"}})
                .config.format,
            OutputFormat::kProtoText);
}

TEST(ConfigTest, SinkIsFilePerTapOrFilePerProcessAndOthersRefused) {
  EXPECT_EQ(parse({{"TAP_PATH_PREFIX", "p"}}).config.sink, SinkKind::kFilePerTap);
  const ConfigResult per_tap = parseWith("TAP_SINK", "file_per_tap");
  EXPECT_THAT(per_tap.error, IsEmpty());
  EXPECT_TRUE(per_tap.config.enabled);
  EXPECT_EQ(per_tap.config.sink, SinkKind::kFilePerTap);
  const ConfigResult per_process = parseWith("TAP_SINK", "FILE_PER_PROCESS");
  EXPECT_THAT(per_process.error, IsEmpty());
  EXPECT_TRUE(per_process.config.enabled);
  EXPECT_EQ(per_process.config.sink, SinkKind::kFilePerProcess);
  for (const char* value : {"udp", "file_per", ""}) {
    expectRefused(parseWith("TAP_SINK", value), "TAP_SINK");
  }
}

TEST(ConfigTest, FilePerProcessSinkDefaultsToLengthDelimitedAndRefusesProtoBinary) {
  // Many messages in one file must be delimited, buffered or streamed.
  for (const char* streaming : {"0", "1"}) {
    EXPECT_EQ(parse({{"TAP_PATH_PREFIX", "p"},
                     {"TAP_SINK", "file_per_process"},
                     {"TAP_STREAMING", streaming}})
                  .config.format,
              OutputFormat::kProtoBinaryLengthDelimited);
  }
  for (const char* format : {"proto_text", "json_body_as_bytes", "json_body_as_string",
                             "proto_binary_length_delimited"}) {
    const ConfigResult parsed =
        parse({{"TAP_PATH_PREFIX", "p"}, {"TAP_SINK", "file_per_process"}, {"TAP_FORMAT", format}});
    EXPECT_THAT(parsed.error, IsEmpty()) << format;
  }
  expectRefused(parse({{"TAP_PATH_PREFIX", "p"},
                       {"TAP_SINK", "file_per_process"},
                       {"TAP_FORMAT", "proto_binary"}}),
                "TAP_SINK");
}

TEST(ConfigTest, KeyLogPathIsKeptAndMayNotBeEmpty) {
  EXPECT_EQ(parseWith("TAP_KEYLOG", "/tmp/keys").config.keylog_path, "/tmp/keys");
  expectRefused(parseWith("TAP_KEYLOG", ""), "TAP_KEYLOG");
}

TEST(ConfigTest, StreamingSettingsAreParsed) {
  const ConfigResult result = parse({{"TAP_PATH_PREFIX", "p"},
                                     {"TAP_STREAMING", "yes"},
                                     {"TAP_MIN_STREAMED_SENT_BYTES", "4096"},
                                     {"TAP_CONNECTION_PER_EVENT", "TRUE"}});
  EXPECT_THAT(result.error, IsEmpty());
  EXPECT_TRUE(result.config.streaming);
  EXPECT_EQ(result.config.min_streamed_sent_bytes, 4096u);
  EXPECT_TRUE(result.config.connection_per_event);
}

TEST(ConfigTest, FlagsTakeOnlyYesOrNoWords) {
  for (const char* value : {"0", "false", "FALSE", "no", ""}) {
    const ConfigResult result = parseWith("TAP_STREAMING", value);
    EXPECT_THAT(result.error, IsEmpty()) << value;
    EXPECT_FALSE(result.config.streaming) << value;
  }
  for (const char* value : {"2", "on", "y", "truee"}) {
    expectRefused(parseWith("TAP_STREAMING", value), "TAP_STREAMING");
    expectRefused(parseWith("TAP_CONNECTION_PER_EVENT", value), "TAP_CONNECTION_PER_EVENT");
  }
  expectRefused(parseWith("TAP_MIN_STREAMED_SENT_BYTES", "-5"), "TAP_MIN_STREAMED_SENT_BYTES");
}

TEST(ConfigTest, PatchIsOnUnlessTurnedOff) {
  EXPECT_TRUE(parse({{"TAP_PATH_PREFIX", "p"}}).config.patch);
  EXPECT_TRUE(parseWith("TAP_PATCH", "yes").config.patch);
  for (const char* value : {"0", "false", "no"}) {
    const ConfigResult result = parseWith("TAP_PATCH", value);
    EXPECT_THAT(result.error, IsEmpty()) << value;
    EXPECT_FALSE(result.config.patch) << value;
  }
  expectRefused(parseWith("TAP_PATCH", "off"), "TAP_PATCH");
}

TEST(ConfigTest, MatchExpressionIsParsedOrRefusedNamingTapMatch) {
  const ConfigResult good = parseWith("TAP_MATCH", "dst port 443 or port 80");
  EXPECT_THAT(good.error, IsEmpty());
  EXPECT_TRUE(good.config.match.has_value());
  expectRefused(parseWith("TAP_MATCH", "port"), "TAP_MATCH");
  expectRefused(parseWith("TAP_MATCH", "host example.com"), "TAP_MATCH");
}

TEST(ConfigTest, MissingConfigFileIsRefusedNamingTapConfig) {
  expectRefused(parse({{"TAP_CONFIG", "/nonexistent/tap.yaml"}}), "TAP_CONFIG");
  expectRefused(parse({{"TAP_CONFIG", ""}}), "TAP_CONFIG");
}

TEST(ConfigTest, ErrorIsOneLine) {
  const ConfigResult result = parseWith("TAP_FORMAT", "json");
  ASSERT_THAT(result.error, ::testing::Not(IsEmpty()));
  EXPECT_EQ(result.error.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace tapshim::core
