// TAP_CONFIG: Envoy's tap configuration, pasted unchanged, becomes
// tapshim's settings; anything tapshim cannot honour is one error line
// naming the file, the line and the field.
#include "tap_core/config/envoy_tap_config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

namespace tapshim::core {
namespace {

// Envoy's traffic tapping documentation example.
constexpr char kEnvoyDocsYaml[] = R"(transport_socket:
  name: envoy.transport_sockets.tap
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tap.v3.Tap
    common_config:
      static_config:
        match_config:
          any_match: true
        output_config:
          sinks:
            - format: PROTO_BINARY
              file_per_tap:
                path_prefix: /some/tap/path
    transport_socket:
      name: envoy.transport_sockets.raw_buffer
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer
)";

constexpr char kEnvoyDocsJson[] = R"({
  "transport_socket": {
    "name": "envoy.transport_sockets.tap",
    "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tap.v3.Tap",
      "common_config": {
        "static_config": {
          "match_config": {
            "any_match": true
          },
          "output_config": {
            "sinks": [
              {
                "format": "PROTO_BINARY",
                "file_per_tap": {
                  "path_prefix": "/some/tap/path"
                }
              }
            ]
          }
        }
      },
      "transport_socket": {
        "name": "envoy.transport_sockets.raw_buffer",
        "typed_config": {
          "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"
        }
      }
    }
  }
}
)";

EnvoyTapSettings parseOk(const std::string& text) {
  std::string error;
  auto settings = parseEnvoyTapConfig(text, &error, "tap.yaml");
  EXPECT_TRUE(settings.has_value()) << error << "\n" << text;
  return settings.value_or(EnvoyTapSettings{});
}

std::string parseError(const std::string& text) {
  std::string error;
  auto settings = parseEnvoyTapConfig(text, &error, "tap.yaml");
  EXPECT_FALSE(settings.has_value()) << text;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  return error;
}

// `expected` is the whole message after "tap.yaml:".
void expectError(const std::string& text, const std::string& expected_prefix) {
  const std::string error = parseError(text);
  EXPECT_EQ(error.rfind("tap.yaml:" + expected_prefix, 0), 0u) << error << "\n" << text;
}

// A bare TapConfig around the given match and output_config bodies.
std::string tapConfig(const std::string& match, const std::string& output) {
  return "match:\n" + match + "output_config:\n" + output;
}

constexpr char kSink[] =
    "  sinks:\n"
    "  - file_per_tap:\n"
    "      path_prefix: /tmp/tap/t\n";

constexpr char kAny[] = "  any_match: true\n";

void expectEnvoyDocsSettings(const EnvoyTapSettings& s) {
  EXPECT_EQ(s.path_prefix, "/some/tap/path");
  EXPECT_EQ(s.format, OutputFormat::kProtoBinary);
  EXPECT_TRUE(s.format_given);
  EXPECT_TRUE(s.match_all);
  EXPECT_FALSE(s.streaming);
  EXPECT_FALSE(s.connection_per_event);
  EXPECT_FALSE(s.max_buffered_rx_bytes.has_value());
  EXPECT_FALSE(s.max_buffered_tx_bytes.has_value());
  EXPECT_FALSE(s.min_streamed_sent_bytes.has_value());
}

TEST(EnvoyTapConfigTest, EnvoyDocumentationYaml) {
  expectEnvoyDocsSettings(parseOk(kEnvoyDocsYaml));
}

TEST(EnvoyTapConfigTest, EnvoyDocumentationJson) {
  expectEnvoyDocsSettings(parseOk(kEnvoyDocsJson));
}

TEST(EnvoyTapConfigTest, TransportSocketContentWithoutTheOuterKey) {
  const std::string text = R"(name: envoy.transport_sockets.tap
typed_config:
  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tap.v3.Tap
  common_config: {static_config: {match: {any_match: true}, output_config: {sinks: [{file_per_tap: {path_prefix: /p}}]}}}
)";
  EXPECT_EQ(parseOk(text).path_prefix, "/p");
}

TEST(EnvoyTapConfigTest, TypedConfigOnly) {
  const std::string text =
      R"("@type": type.googleapis.com/envoy.extensions.transport_sockets.tap.v3.Tap
common_config:
  static_config:
    match:
      any_match: true
    output_config:
      sinks:
      - format: JSON_BODY_AS_STRING
        file_per_tap: {path_prefix: /tmp/x}
socket_tap_config:
  set_connection_per_event: true
  stats_prefix: mine
)";
  const EnvoyTapSettings s = parseOk(text);
  EXPECT_EQ(s.path_prefix, "/tmp/x");
  EXPECT_EQ(s.format, OutputFormat::kJsonBodyAsString);
  EXPECT_TRUE(s.connection_per_event);
  // Without "@type" and without the wrapped transport_socket too.
  EXPECT_EQ(parseOk(text.substr(text.find('\n') + 1)).path_prefix, "/tmp/x");
}

TEST(EnvoyTapConfigTest, BareTapConfigDefaultsToEnvoysFormat) {
  const EnvoyTapSettings s = parseOk(tapConfig(kAny, kSink));
  EXPECT_EQ(s.path_prefix, "/tmp/tap/t");
  EXPECT_EQ(s.format, OutputFormat::kJsonBodyAsBytes);
  EXPECT_FALSE(s.format_given);
  EXPECT_TRUE(s.match_all);
  // A bare TapConfig may carry its own type URL.
  EXPECT_EQ(parseOk("\"@type\": type.googleapis.com/envoy.config.tap.v3.TapConfig\n" +
                    tapConfig(kAny, kSink))
                .path_prefix,
            "/tmp/tap/t");
}

TEST(EnvoyTapConfigTest, LowerCamelCaseNames) {
  const std::string text = R"({
  "transportSocket": {
    "name": "envoy.transport_sockets.tap",
    "typedConfig": {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tap.v3.Tap",
      "commonConfig": {"staticConfig": {
        "matchConfig": {"anyMatch": true},
        "outputConfig": {
          "sinks": [{"format": "PROTO_TEXT", "filePerTap": {"pathPrefix": "/camel"}}],
          "maxBufferedRxBytes": 10, "maxBufferedTxBytes": 20, "streaming": true,
          "minStreamedSentBytes": 30}}},
      "socketTapConfig": {"setConnectionPerEvent": true, "statsPrefix": "x"},
      "transportSocket": {"name": "envoy.transport_sockets.raw_buffer"}}}})";
  const EnvoyTapSettings s = parseOk(text);
  EXPECT_EQ(s.path_prefix, "/camel");
  EXPECT_EQ(s.format, OutputFormat::kProtoText);
  EXPECT_EQ(s.max_buffered_rx_bytes, 10u);
  EXPECT_EQ(s.max_buffered_tx_bytes, 20u);
  EXPECT_EQ(s.min_streamed_sent_bytes, 30u);
  EXPECT_TRUE(s.streaming);
  EXPECT_TRUE(s.connection_per_event);
}

TEST(EnvoyTapConfigTest, StreamingBatchedPerEvent) {
  const std::string text =
      R"("@type": type.googleapis.com/envoy.extensions.transport_sockets.tap.v3.Tap
common_config:
  static_config:
    match: {any_match: true}
    output_config:
      streaming: true
      min_streamed_sent_bytes: 4096
      max_buffered_rx_bytes: 0
      max_buffered_tx_bytes: 4294967295
      sinks:
      - format: PROTO_BINARY_LENGTH_DELIMITED
        file_per_tap:
          path_prefix: /tmp/stream
socket_tap_config: {set_connection_per_event: True}
)";
  const EnvoyTapSettings s = parseOk(text);
  EXPECT_TRUE(s.streaming);
  EXPECT_EQ(s.min_streamed_sent_bytes, 4096u);
  EXPECT_EQ(s.max_buffered_rx_bytes, 0u);
  EXPECT_EQ(s.max_buffered_tx_bytes, 4294967295u);
  EXPECT_EQ(s.format, OutputFormat::kProtoBinaryLengthDelimited);
  EXPECT_TRUE(s.connection_per_event);
}

TEST(EnvoyTapConfigTest, FormatsByNameNumberAndCase) {
  auto format = [](const std::string& value) {
    return parseOk(tapConfig(kAny, "  sinks: [{format: " + value +
                                       ", file_per_tap: {path_prefix: /p}}]\n"))
        .format;
  };
  EXPECT_EQ(format("JSON_BODY_AS_BYTES"), OutputFormat::kJsonBodyAsBytes);
  EXPECT_EQ(format("'PROTO_BINARY'"), OutputFormat::kProtoBinary);
  EXPECT_EQ(format("proto_text"), OutputFormat::kProtoText);
  EXPECT_EQ(format("3"), OutputFormat::kProtoBinaryLengthDelimited);
}

TEST(EnvoyTapConfigTest, MatchTreesFoldToConstants) {
  auto match = [](const std::string& body) { return parseOk(tapConfig(body, kSink)).match_all; };
  EXPECT_TRUE(match("  any_match: true\n"));
  EXPECT_FALSE(match("  not_match: {any_match: true}\n"));
  EXPECT_TRUE(match("  not_match: {not_match: {any_match: true}}\n"));
  EXPECT_TRUE(match("  and_match: {rules: [{any_match: true}, {any_match: true}]}\n"));
  EXPECT_FALSE(
      match("  and_match: {rules: [{any_match: true}, {not_match: {any_match: true}}]}\n"));
  EXPECT_TRUE(match("  or_match: {rules: [{not_match: {any_match: true}}, {any_match: true}]}\n"));
  EXPECT_FALSE(
      match("  or_match:\n    rules:\n    - not_match: {any_match: true}\n"
            "    - not_match: {any_match: true}\n"));
  EXPECT_FALSE(
      match("  not_match:\n    or_match:\n      rules:\n      - any_match: true\n"
            "      - and_match: {rules: [{any_match: true}, {any_match: true}]}\n"));
}

TEST(EnvoyTapConfigTest, MatchWinsOverMatchConfig) {
  // As Envoy: `match` is used; match_config is only checked for shape.
  const std::string text =
      "match: {not_match: {any_match: true}}\n"
      "match_config: {http_request_headers_match: {headers: [{name: x}]}}\n"
      "output_config:\n" +
      std::string(kSink);
  EXPECT_FALSE(parseOk(text).match_all);
  expectError(
      "match: {any_match: true}\nmatch_config: {bogus: 1}\noutput_config:\n" + std::string(kSink),
      "2: match_config.bogus: unknown field");
}

TEST(EnvoyTapConfigTest, ScalarSpellings) {
  auto streaming = [](const std::string& value) {
    return parseOk(tapConfig(kAny, std::string(kSink) + "  streaming: " + value + "\n")).streaming;
  };
  EXPECT_TRUE(streaming("true"));
  EXPECT_TRUE(streaming("True"));
  EXPECT_TRUE(streaming("TRUE"));
  EXPECT_TRUE(streaming("yes"));
  EXPECT_FALSE(streaming("false"));
  EXPECT_FALSE(streaming("False"));
  EXPECT_FALSE(streaming("off"));
  EXPECT_FALSE(streaming("'false'"));
  auto limit = [](const std::string& value) {
    return parseOk(tapConfig(kAny, std::string(kSink) + "  max_buffered_rx_bytes: " + value + "\n"))
        .max_buffered_rx_bytes.value_or(12345);
  };
  EXPECT_EQ(limit("2048"), 2048u);
  EXPECT_EQ(limit("\"2048\""), 2048u);
  EXPECT_EQ(limit("2048.0"), 2048u);
  EXPECT_EQ(limit("2.048e3"), 2048u);
  EXPECT_EQ(limit("00100"), 100u);
  EXPECT_EQ(limit("0"), 0u);
  EXPECT_EQ(limit("~"), 12345u);  // null: unset, as protobuf's JSON
  EXPECT_EQ(
      parseOk(
          tapConfig(kAny,
                    "  sinks: [{file_per_tap: {path_prefix: \"/tmp/a b\\tc # d\"}}]  # comment\n"))
          .path_prefix,
      "/tmp/a b\tc # d");
  EXPECT_EQ(parseOk(tapConfig(kAny, "  sinks: [{file_per_tap: {path_prefix: '/tmp/it''s'}}]\n"))
                .path_prefix,
            "/tmp/it's");
}

TEST(EnvoyTapConfigTest, HttpMatcherIsAnError) {
  expectError(
      tapConfig("  http_request_headers_match:\n    headers: [{name: host}]\n", kSink),
      "2: match.http_request_headers_match: is an HTTP matcher, which can never match a socket");
  expectError(tapConfig("  or_match:\n    rules:\n    - any_match: true\n"
                        "    - httpResponseGenericBodyMatch: {bytes_limit: 1}\n",
                        kSink),
              "5: match.or_match.rules[1].httpResponseGenericBodyMatch: is an HTTP matcher");
}

TEST(EnvoyTapConfigTest, MatchErrors) {
  expectError(tapConfig("  any_match: false\n", kSink), "2: match.any_match: must be true");
  expectError(tapConfig("  {}\n", kSink), "1: match: needs one rule");
  expectError(tapConfig("  any_match: true\n  not_match: {any_match: true}\n", kSink),
              "3: match: sets both 'any_match' and 'not_match'");
  expectError(tapConfig("  and_match: {rules: [{any_match: true}]}\n", kSink),
              "2: match.and_match.rules: needs at least 2 rules");
  expectError(tapConfig("  port_match: 443\n", kSink), "2: match.port_match: unknown field");
  expectError("output_config:\n" + std::string(kSink), "1: missing match (or match_config)");
  std::string deep = "match:\n";
  for (int i = 0; i < 70; ++i) deep += "  " + std::string(2 * i, ' ') + "not_match:\n";
  deep += std::string(2 * 71, ' ') + "any_match: true\noutput_config:\n" + kSink;
  EXPECT_NE(parseError(deep).find("nesting deeper than"), std::string::npos);
}

TEST(EnvoyTapConfigTest, AdminGrpcAndCustomSinksAreErrors) {
  expectError(tapConfig(kAny, "  sinks:\n  - streaming_admin: {}\n"),
              "5: output_config.sinks[0].streaming_admin: admin sinks need Envoy's admin endpoint");
  expectError(
      tapConfig(kAny,
                "  sinks:\n  - format: JSON_BODY_AS_BYTES\n    buffered_admin: {max_traces: 1}\n"),
      "6: output_config.sinks[0].buffered_admin: admin sinks");
  expectError(tapConfig(kAny, "  sinks:\n  - streaming_grpc: {tap_id: x}\n"),
              "5: output_config.sinks[0].streaming_grpc: gRPC sinks are not supported");
  expectError(tapConfig(kAny, "  sinks:\n  - custom_sink: {name: udp}\n"),
              "5: output_config.sinks[0].custom_sink: custom sinks are not supported");
  expectError(R"(common_config:
  admin_config: {}
)",
              "2: common_config.admin_config: missing config_id");
  expectError(R"(common_config:
  admin_config: {config_id: x, other: 1}
)",
              "2: common_config.admin_config.other");
}

// admin_config is Envoy's "wait for a tap request": tapshim's standby.
TEST(EnvoyTapConfigTest, AdminConfigMeansStandby) {
  std::string error;
  std::optional<EnvoyTapSettings> settings = parseEnvoyTapConfig(R"(common_config:
  admin_config:
    config_id: live
)",
                                                                 &error);
  ASSERT_TRUE(settings.has_value()) << error;
  EXPECT_TRUE(settings->standby);
  EXPECT_EQ(settings->admin_config_id, "live");
  EXPECT_TRUE(settings->path_prefix.empty());
}

TEST(EnvoyTapConfigTest, SinkCountErrors) {
  expectError(tapConfig(kAny, std::string(kSink) + "  - file_per_tap: {path_prefix: /other}\n"),
              "7: output_config.sinks[1]: a second sink");
  expectError(tapConfig(kAny, "  sinks: []\n"), "4: output_config.sinks: has no sink");
  expectError(tapConfig(kAny, "  streaming: true\n"), "3: output_config: missing sinks");
  expectError(tapConfig(kAny, "  sinks: [{format: PROTO_BINARY}]\n"),
              "4: output_config.sinks[0]: missing file_per_tap");
  expectError("match:\n" + std::string(kAny), "1: missing output_config");
  expectError(tapConfig(kAny, "  sinks: [{file_per_tap: {}}]\n"),
              "4: output_config.sinks[0].file_per_tap: missing path_prefix");
  expectError(tapConfig(kAny, "  sinks: [{file_per_tap: {path_prefix: ''}}]\n"),
              "4: output_config.sinks[0].file_per_tap.path_prefix: is empty");
  expectError(
      tapConfig(kAny, "  sinks: [{file_per_tap: {path_prefix: /a}, streaming_admin: {}}]\n"),
      "4: output_config.sinks[0]: sets both");
}

TEST(EnvoyTapConfigTest, UnknownFieldsAreErrors) {
  expectError(
      tapConfig(kAny, std::string(kSink) + "  max_buffered_bytes: 5\n"),
      "7: output_config.max_buffered_bytes: unknown field (Envoy rejects unknown fields; expected "
      "one of: sinks, max_buffered_rx_bytes,");
  expectError(
      tapConfig(kAny, "  sinks:\n  - file_per_tap:\n      path_prefix: /p\n      flush: true\n"),
      "7: output_config.sinks[0].file_per_tap.flush: unknown field");
  std::string docs = kEnvoyDocsYaml;
  docs.replace(docs.find("    common_config:"), 0, "    extra: 1\n");
  expectError(docs, "5: transport_socket.typed_config.extra: unknown field");
  expectError("transport_socket: {name: envoy.transport_sockets.tap}\nother: 1\n",
              "2: other: unknown field");
  expectError(
      tapConfig(kAny, std::string(kSink) + "  maxBufferedRxBytes: 1\n  max_buffered_rx_bytes: 2\n"),
      "8: output_config.max_buffered_rx_bytes: field given twice");
  expectError("{hello: world}\n", "1: not an Envoy tap configuration");
  expectError("- a\n", "1: expected a mapping");
}

TEST(EnvoyTapConfigTest, TypeUrlsAndNamesAreChecked) {
  std::string docs = kEnvoyDocsYaml;
  docs.replace(docs.find("tap.v3.Tap"), 10, "tls.v3.UpstreamTlsContext");
  expectError(
      docs,
      "4: transport_socket.typed_config.@type: "
      "'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' is not");
  docs = kEnvoyDocsYaml;
  docs.replace(docs.find("envoy.transport_sockets.tap"), 27, "envoy.transport_sockets.tls");
  expectError(
      docs,
      "2: transport_socket.name: 'envoy.transport_sockets.tls' is not the tap transport socket");
  expectError("transport_socket:\n  name: envoy.transport_sockets.tap\n",
              "1: transport_socket: missing typed_config");
  expectError(
      "\"@type\": type.googleapis.com/envoy.config.tap.v3.Other\nmatch: {any_match: true}\n",
      "1: @type: 'type.googleapis.com/envoy.config.tap.v3.Other' is not "
      "type.googleapis.com/envoy.extensions.transport_sockets.tap.v3.Tap (or "
      "envoy.config.tap.v3.TapConfig)");
}

TEST(EnvoyTapConfigTest, BadValuesAreErrors) {
  expectError(
      tapConfig(kAny, "  sinks: [{format: PROTO_BINARYY, file_per_tap: {path_prefix: /p}}]\n"),
      "4: output_config.sinks[0].format: 'PROTO_BINARYY' is not a format (JSON_BODY_AS_BYTES,");
  expectError(tapConfig(kAny, "  sinks: [{format: 5, file_per_tap: {path_prefix: /p}}]\n"),
              "4: output_config.sinks[0].format: '5' is not a format");
  auto limitError = [](const std::string& value, const std::string& problem) {
    expectError(tapConfig(kAny, std::string(kSink) + "  max_buffered_tx_bytes: " + value + "\n"),
                "7: output_config.max_buffered_tx_bytes: " + problem);
  };
  limitError("-1", "'-1' must not be negative");
  limitError("10.5", "'10.5' must be a whole number");
  limitError("4294967296", "'4294967296' is out of range (0 to 4294967295)");
  limitError("1e10", "'1e10' is out of range");
  limitError("0x10", "'0x10' is not a number");
  limitError("lots", "'lots' is not a number");
  limitError("{value: 10}", "expected a number: a UInt32Value is written as the number itself");
  limitError("[1]", "expected a number");
  expectError(tapConfig(kAny, std::string(kSink) + "  streaming: 1\n"),
              "7: output_config.streaming: '1' is not true or false");
  expectError(tapConfig(kAny, "  sinks: [{file_per_tap: {path_prefix: [a]}}]\n"),
              "4: output_config.sinks[0].file_per_tap.path_prefix: expected a string");
}

TEST(EnvoyTapConfigTest, YamlErrorsNameTheLine) {
  expectError("a: &x 1\n", "1: anchors ('&') are not supported");
  expectError("match: {any_match: true}\n---\n", "2: several documents");
  expectError("match:\n\tany_match: true\n", "2: tab character in indentation");
  expectError("match: {any_match: true}\nmatch: {any_match: true}\n", "2: duplicate key 'match'");
  expectError("match: {any_match: true\n", "1: unterminated flow mapping");
  expectError("output_config: !!map {}\n", "1: tags");
}

std::string writeTemp(const std::string& text) {
  char path[] = "/tmp/tapshim_config_test_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

TEST(EnvoyTapConfigTest, LoadsAFile) {
  const std::string path = writeTemp(kEnvoyDocsYaml);
  std::string error;
  const auto settings = loadEnvoyTapConfig(path.c_str(), &error);
  ASSERT_TRUE(settings.has_value()) << error;
  expectEnvoyDocsSettings(*settings);
  unlink(path.c_str());
}

TEST(EnvoyTapConfigTest, FileErrorsNameTheFile) {
  const std::string path =
      writeTemp("match: {any_match: true}\noutput_config: {sinks: [{streaming_admin: {}}]}\n");
  std::string error;
  EXPECT_FALSE(loadEnvoyTapConfig(path.c_str(), &error).has_value());
  EXPECT_EQ(error.rfind(path + ":2: output_config.sinks[0].streaming_admin: admin sinks", 0), 0u)
      << error;
  unlink(path.c_str());

  EXPECT_FALSE(loadEnvoyTapConfig("/nonexistent/tap.yaml", &error).has_value());
  EXPECT_EQ(error, "/nonexistent/tap.yaml: cannot open: No such file or directory");
  EXPECT_FALSE(loadEnvoyTapConfig("/tmp", &error).has_value());
  EXPECT_EQ(error, "/tmp: cannot read: Is a directory");

  const std::string empty = writeTemp("");
  EXPECT_FALSE(loadEnvoyTapConfig(empty.c_str(), &error).has_value());
  EXPECT_EQ(error, empty + ":1: the document is empty");
  unlink(empty.c_str());

  const std::string big = writeTemp(std::string(kMaxEnvoyTapConfigBytes + 1, '#'));
  EXPECT_FALSE(loadEnvoyTapConfig(big.c_str(), &error).has_value());
  EXPECT_EQ(error, big + ": larger than 1 MiB: not a tap configuration");
  unlink(big.c_str());
}

}  // namespace
}  // namespace tapshim::core
