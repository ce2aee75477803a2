#include "tap_core/config/envoy_tap_config.h"

#include <fcntl.h>

#include <cerrno>
#include <utility>

#include "tap_core/base/ascii.h"
#include "tap_core/base/os.h"
#include "tap_core/config/envoy_fields.h"
#include "tap_core/config/yaml_parser.h"

namespace tapshim::core {
namespace {

constexpr std::string_view kTapType = "envoy.extensions.transport_sockets.tap.v3.Tap";
constexpr std::string_view kTapConfigType = "envoy.config.tap.v3.TapConfig";
constexpr std::string_view kTapSocketName = "envoy.transport_sockets.tap";

// Envoy's MatchPredicate rules that look at HTTP and never fire on a socket.
constexpr std::string_view kHttpMatchers[] = {
    "http_request_headers_match",      "http_request_trailers_match",
    "http_response_headers_match",     "http_response_trailers_match",
    "http_request_generic_body_match", "http_response_generic_body_match",
};

// Whether the type URL `url` is `<anything>/<type>`.
bool isTypeUrlOf(std::string_view url, std::string_view type) {
  return url.size() > type.size() && url.ends_with(type) &&
         url[url.size() - type.size() - 1] == '/';
}

// Envoy's tap messages to settings: one method per message, from the
// outermost block the file may hold down to the sink.
class Mapper : public EnvoyFieldReader {
 public:
  Mapper(std::string_view source, std::string* error) : EnvoyFieldReader(source, error) {}

  bool parseRoot(const YamlNode& root, EnvoyTapSettings* settings);

 private:
  bool readFormat(const YamlNode& node, const std::string& path, OutputFormat* out);

  bool parseTypedRoot(const YamlNode& root, const YamlNode& type, EnvoyTapSettings* s);
  bool parseTransportSocket(const YamlNode& node, const std::string& path, EnvoyTapSettings* s);
  bool parseTap(const YamlNode& node, const std::string& path, EnvoyTapSettings* s);
  bool parseAdminConfig(const YamlNode& node, const std::string& common_path, EnvoyTapSettings* s);
  bool parseSocketTapConfig(const YamlNode& node, const std::string& path, EnvoyTapSettings* s);
  bool parseTapConfig(const YamlNode& node, const std::string& path, bool typed,
                      EnvoyTapSettings* s);
  bool evalMatch(const YamlNode& node, const std::string& path, int depth, bool used, bool* result);
  bool evalMatchSet(const YamlNode& rule, const std::string& rule_path, int depth, bool used,
                    bool* result);
  bool parseOutputConfig(const YamlNode& node, const std::string& path, EnvoyTapSettings* s);
  bool parseSink(const YamlNode& node, const std::string& path, EnvoyTapSettings* s);
  bool parseFilePerTap(const YamlNode& node, const std::string& path, EnvoyTapSettings* s);
};

bool Mapper::readFormat(const YamlNode& node, const std::string& path, OutputFormat* out) {
  static constexpr std::pair<std::string_view, OutputFormat> kFormats[] = {
      {"JSON_BODY_AS_BYTES", OutputFormat::kJsonBodyAsBytes},
      {"JSON_BODY_AS_STRING", OutputFormat::kJsonBodyAsString},
      {"PROTO_BINARY", OutputFormat::kProtoBinary},
      {"PROTO_BINARY_LENGTH_DELIMITED", OutputFormat::kProtoBinaryLengthDelimited},
      {"PROTO_TEXT", OutputFormat::kProtoText},
  };
  if (node.isScalar()) {
    for (const auto& [name, format] : kFormats) {
      if (equalsIgnoringCase(node.value, name)) return *out = format, true;
    }
    // protobuf's JSON parser also takes an enum's number.
    uint64_t number = 0;
    if (parseWholeNumber(node.value, 4, &number).empty()) {
      *out = kFormats[number].second;
      return true;
    }
  }
  return fail(node, path,
              (node.isScalar() ? quoteForMessage(node.value) + " is not a format"
                               : std::string("expected a format")) +
                  " (JSON_BODY_AS_BYTES, JSON_BODY_AS_STRING, PROTO_BINARY, "
                  "PROTO_BINARY_LENGTH_DELIMITED or PROTO_TEXT)");
}

bool Mapper::parseRoot(const YamlNode& root, EnvoyTapSettings* s) {
  if (!root.isMap()) {
    return fail(root, "",
                "expected a mapping: the tap transport_socket block, its typed_config "
                "(envoy.extensions.transport_sockets.tap.v3.Tap) or a TapConfig");
  }
  auto has = [&](std::string_view snake) {
    for (const YamlNode& child : root.children) {
      if (sameField(child.key, snake)) return true;
    }
    return false;
  };
  // `transport_socket` is both the block's own key and, inside a Tap, the
  // wrapped socket: a Tap is recognised by its common_config first.
  if (has("common_config") || has("socket_tap_config")) return parseTap(root, "", s);
  if (has("name") || has("typed_config")) return parseTransportSocket(root, "", s);
  if (has("transport_socket") && !has("@type")) {
    if (!expectFields(root, "", {"transport_socket"})) return false;
    const YamlNode* block = field(root, "transport_socket");
    if (block == nullptr) return fail(root, join("", root.children[0].key), "is empty");
    return parseTransportSocket(*block, join("", block->key), s);
  }
  if (const YamlNode* type = root.find("@type"); type != nullptr && type->isScalar()) {
    return parseTypedRoot(root, *type, s);
  }
  if (has("match") || has("match_config") || has("output_config") || has("tap_enabled")) {
    return parseTapConfig(root, "", false, s);
  }
  return fail(root, "",
              "not an Envoy tap configuration: expected the tap transport_socket block, its "
              "typed_config (envoy.extensions.transport_sockets.tap.v3.Tap) or a TapConfig "
              "(match + output_config)");
}

// A top-level Any: a Tap or a TapConfig, as its "@type" (`type`) says.
bool Mapper::parseTypedRoot(const YamlNode& root, const YamlNode& type, EnvoyTapSettings* s) {
  const std::string_view url = type.value;
  if (isTypeUrlOf(url, kTapConfigType)) return parseTapConfig(root, "", true, s);
  if (isTypeUrlOf(url, kTapType)) return parseTap(root, "", s);
  return fail(type, "@type",
              quoteForMessage(url) + " is not type.googleapis.com/" + std::string(kTapType) +
                  " (or " + std::string(kTapConfigType) + ")");
}

// config.core.v3.TransportSocket.
bool Mapper::parseTransportSocket(const YamlNode& node, const std::string& path,
                                  EnvoyTapSettings* s) {
  if (!expectFields(node, path, {"name", "typed_config"})) return false;
  if (const YamlNode* name = field(node, "name")) {
    if (!name->isScalar() || name->value != kTapSocketName) {
      return fail(*name, join(path, name->key),
                  (name->isScalar() ? quoteForMessage(name->value) : std::string("this")) +
                      " is not the tap transport socket (" + std::string(kTapSocketName) + ")");
    }
  }
  const YamlNode* typed = field(node, "typed_config");
  if (typed == nullptr) {
    return fail(node, path, "missing typed_config (envoy.extensions.transport_sockets.tap.v3.Tap)");
  }
  return parseTap(*typed, join(path, typed->key), s);
}

// extensions.transport_sockets.tap.v3.Tap (usually an Any with "@type").
bool Mapper::parseTap(const YamlNode& node, const std::string& path, EnvoyTapSettings* s) {
  if (!expectFields(node, path,
                    {"@type", "common_config", "transport_socket", "socket_tap_config"})) {
    return false;
  }
  if (const YamlNode* type = field(node, "@type")) {
    if (!checkType(*type, join(path, type->key), kTapType)) return false;
  }
  // transport_socket: the wrapped socket (raw_buffer, tls): ignored, the
  // program does its own TLS.
  if (const YamlNode* socket = field(node, "socket_tap_config")) {
    if (!parseSocketTapConfig(*socket, join(path, socket->key), s)) return false;
  }
  const YamlNode* common = field(node, "common_config");
  if (common == nullptr) return fail(node, path, "missing common_config (Envoy requires it)");
  const std::string common_path = join(path, common->key);
  if (!expectFields(*common, common_path, {"admin_config", "static_config"})) return false;
  bool ok = true;
  const YamlNode* config =
      only(*common, common_path, {"admin_config", "static_config"}, "common_config", &ok);
  if (!ok) return false;
  if (config == nullptr) return fail(*common, common_path, "missing static_config");
  if (sameField(config->key, "admin_config")) return parseAdminConfig(*config, common_path, s);
  return parseTapConfig(*config, join(common_path, config->key), false, s);
}

// config.common.tap.v3.AdminConfig: Envoy waits for a tap request on its
// admin endpoint; tapshim's equivalent is standby, waiting for `tapshim
// attach`, whose request carries the match and output (as Envoy's /tap
// request body does).
bool Mapper::parseAdminConfig(const YamlNode& node, const std::string& common_path,
                              EnvoyTapSettings* s) {
  const std::string path = join(common_path, node.key);
  if (!expectFields(node, path, {"config_id"})) return false;
  const YamlNode* id = field(node, "config_id");
  if (id == nullptr) return fail(node, path, "missing config_id (Envoy requires it)");
  const std::string id_path = join(path, id->key);
  if (!readString(*id, id_path, &s->admin_config_id)) return false;
  if (s->admin_config_id.empty()) return fail(*id, id_path, "is empty");
  s->standby = true;
  return true;
}

// extensions.transport_sockets.tap.v3.SocketTapConfig.
bool Mapper::parseSocketTapConfig(const YamlNode& node, const std::string& path,
                                  EnvoyTapSettings* s) {
  if (!expectFields(node, path, {"set_connection_per_event", "stats_prefix"})) return false;
  if (const YamlNode* per_event = field(node, "set_connection_per_event")) {
    if (!readBool(*per_event, join(path, per_event->key), &s->connection_per_event)) return false;
  }
  if (const YamlNode* stats = field(node, "stats_prefix")) {
    std::string ignored;  // tapshim keeps no stats
    if (!readString(*stats, join(path, stats->key), &ignored)) return false;
  }
  return true;
}

// config.tap.v3.TapConfig. `typed`: an Any at the top level ("@type" allowed).
bool Mapper::parseTapConfig(const YamlNode& node, const std::string& path, bool typed,
                            EnvoyTapSettings* s) {
  if (typed) {
    if (!expectFields(node, path,
                      {"@type", "match_config", "output_config", "tap_enabled", "match"})) {
      return false;
    }
    if (!checkType(*node.find("@type"), "@type", kTapConfigType)) return false;
  } else if (!expectFields(node, path, {"match_config", "output_config", "tap_enabled", "match"})) {
    return false;
  }
  // tap_enabled: Envoy's socket tap does not evaluate it; neither does tapshim.
  if (const YamlNode* enabled = field(node, "tap_enabled");
      enabled != nullptr && !enabled->isMap()) {
    return fail(*enabled, join(path, enabled->key), "expected a RuntimeFractionalPercent mapping");
  }
  // `match` is used when set; otherwise the deprecated match_config (Envoy).
  const YamlNode* match = field(node, "match");
  const YamlNode* match_config = field(node, "match_config");
  if (match == nullptr && match_config == nullptr) {
    return fail(node, path,
                "missing match (or match_config): Envoy rejects a tap config without one; "
                "use 'match: {any_match: true}' to tap every connection");
  }
  if (match != nullptr && match_config != nullptr) {
    bool ignored = false;  // checked for shape only: Envoy uses `match`
    if (!evalMatch(*match_config, join(path, match_config->key), 0, false, &ignored)) return false;
  }
  const YamlNode* used = match != nullptr ? match : match_config;
  if (!evalMatch(*used, join(path, used->key), 0, true, &s->match_all)) return false;

  const YamlNode* output = field(node, "output_config");
  if (output == nullptr) return fail(node, path, "missing output_config (Envoy requires it)");
  return parseOutputConfig(*output, join(path, output->key), s);
}

// A MatchPredicate folded to a constant. `used`: false for a match_config
// that `match` overrides (HTTP matchers are then harmless).
bool Mapper::evalMatch(const YamlNode& node, const std::string& path, int depth, bool used,
                       bool* result) {
  if (depth > kMaxYamlDepth) return fail(node, path, "match predicates nested too deeply");
  const Names kRules = {"or_match",
                        "and_match",
                        "not_match",
                        "any_match",
                        "http_request_headers_match",
                        "http_request_trailers_match",
                        "http_response_headers_match",
                        "http_response_trailers_match",
                        "http_request_generic_body_match",
                        "http_response_generic_body_match"};
  if (!expectFields(node, path, kRules)) return false;
  bool ok = true;
  const YamlNode* rule = only(node, path, kRules, "a match predicate", &ok);
  if (!ok) return false;
  if (rule == nullptr) {
    return fail(node, path, "needs one rule: any_match, and_match, or_match or not_match");
  }
  const std::string rule_path = join(path, rule->key);
  for (std::string_view http : kHttpMatchers) {
    if (!sameField(rule->key, http)) continue;
    if (!used) return true;
    return fail(*rule, rule_path,
                "is an HTTP matcher, which can never match a socket (Envoy's socket tap evaluates "
                "only any_match and and_match/or_match/not_match of it)");
  }
  if (sameField(rule->key, "any_match")) {
    bool any = false;
    if (!readBool(*rule, rule_path, &any)) return false;
    if (!any) {
      return fail(*rule, rule_path,
                  "must be true (as in Envoy); to tap nothing use 'not_match: {any_match: true}'");
    }
    *result = true;
    return true;
  }
  if (sameField(rule->key, "not_match")) {
    bool inner = false;
    if (!evalMatch(*rule, rule_path, depth + 1, used, &inner)) return false;
    *result = !inner;
    return true;
  }
  return evalMatchSet(*rule, rule_path, depth, used, result);
}

// and_match / or_match (`rule`): a MatchSet of at least two predicates.
bool Mapper::evalMatchSet(const YamlNode& rule, const std::string& rule_path, int depth, bool used,
                          bool* result) {
  const bool is_and = sameField(rule.key, "and_match");
  if (!expectFields(rule, rule_path, {"rules"})) return false;
  const YamlNode* rules = field(rule, "rules");
  const std::string rules_path =
      rules != nullptr ? join(rule_path, rules->key) : join(rule_path, "rules");
  if (rules == nullptr || !rules->isSequence()) {
    return fail(rules != nullptr ? *rules : rule, rules_path,
                "expected a sequence of match predicates");
  }
  if (rules->children.size() < 2) {
    return fail(*rules, rules_path, "needs at least 2 rules (as Envoy)");
  }
  bool value = is_and;
  for (size_t i = 0; i < rules->children.size(); ++i) {
    bool item = false;
    if (!evalMatch(rules->children[i], rules_path + "[" + std::to_string(i) + "]", depth + 1, used,
                   &item)) {
      return false;
    }
    value = is_and ? (value && item) : (value || item);
  }
  *result = value;
  return true;
}

bool Mapper::parseOutputConfig(const YamlNode& node, const std::string& path, EnvoyTapSettings* s) {
  if (!expectFields(node, path,
                    {"sinks", "max_buffered_rx_bytes", "max_buffered_tx_bytes", "streaming",
                     "min_streamed_sent_bytes"})) {
    return false;
  }
  const YamlNode* sinks = field(node, "sinks");
  if (sinks == nullptr)
    return fail(node, path, "missing sinks: tapshim needs one file_per_tap sink");
  const std::string sinks_path = join(path, sinks->key);
  if (!sinks->isSequence()) return fail(*sinks, sinks_path, "expected a sequence of sinks");
  if (sinks->children.empty())
    return fail(*sinks, sinks_path, "has no sink: tapshim needs one file_per_tap sink");
  if (sinks->children.size() > 1) {
    return fail(sinks->children[1], sinks_path + "[1]",
                "a second sink: Envoy and tapshim take exactly one");
  }
  if (!parseSink(sinks->children[0], sinks_path + "[0]", s)) return false;

  struct Limit {
    std::string_view name;
    std::optional<uint32_t>* out;
  };
  const Limit limits[] = {{"max_buffered_rx_bytes", &s->max_buffered_rx_bytes},
                          {"max_buffered_tx_bytes", &s->max_buffered_tx_bytes},
                          {"min_streamed_sent_bytes", &s->min_streamed_sent_bytes}};
  for (const Limit& limit : limits) {
    if (const YamlNode* value = field(node, limit.name)) {
      if (!readUint32(*value, join(path, value->key), limit.out)) return false;
    }
  }
  if (const YamlNode* streaming = field(node, "streaming")) {
    if (!readBool(*streaming, join(path, streaming->key), &s->streaming)) return false;
  }
  return true;
}

bool Mapper::parseSink(const YamlNode& node, const std::string& path, EnvoyTapSettings* s) {
  const Names kTypes = {"streaming_admin", "file_per_tap", "streaming_grpc", "buffered_admin",
                        "custom_sink"};
  if (!expectFields(node, path,
                    {"format", "streaming_admin", "file_per_tap", "streaming_grpc",
                     "buffered_admin", "custom_sink"})) {
    return false;
  }
  if (const YamlNode* format = field(node, "format")) {
    if (!readFormat(*format, join(path, format->key), &s->format)) return false;
    s->format_given = true;
  }
  bool ok = true;
  const YamlNode* sink = only(node, path, kTypes, "a sink", &ok);
  if (!ok) return false;
  if (sink == nullptr)
    return fail(node, path, "missing file_per_tap (the one sink type tapshim writes)");
  const std::string sink_path = join(path, sink->key);
  if (sameField(sink->key, "streaming_admin") || sameField(sink->key, "buffered_admin")) {
    return fail(
        *sink, sink_path,
        "admin sinks need Envoy's admin endpoint, which tapshim does not have; use file_per_tap");
  }
  if (sameField(sink->key, "streaming_grpc")) {
    return fail(*sink, sink_path,
                "gRPC sinks are not supported (Envoy does not implement them either); "
                "use file_per_tap");
  }
  if (sameField(sink->key, "custom_sink")) {
    return fail(*sink, sink_path, "custom sinks are not supported; use file_per_tap");
  }
  return parseFilePerTap(*sink, sink_path, s);
}

// config.tap.v3.FilePerTapSink.
bool Mapper::parseFilePerTap(const YamlNode& node, const std::string& path, EnvoyTapSettings* s) {
  if (!expectFields(node, path, {"path_prefix"})) return false;
  const YamlNode* prefix = field(node, "path_prefix");
  if (prefix == nullptr) return fail(node, path, "missing path_prefix");
  const std::string prefix_path = join(path, prefix->key);
  if (!readString(*prefix, prefix_path, &s->path_prefix)) return false;
  if (s->path_prefix.empty()) return fail(*prefix, prefix_path, "is empty");
  return true;
}

}  // namespace

std::optional<EnvoyTapSettings> parseEnvoyTapConfig(std::string_view text, std::string* error,
                                                    std::string_view source) {
  YamlError yaml_error;
  const std::optional<YamlNode> root = parseYaml(text, &yaml_error);
  if (!root.has_value()) {
    if (error != nullptr) {
      *error =
          std::string(source) + ":" + std::to_string(yaml_error.line) + ": " + yaml_error.message;
    }
    return std::nullopt;
  }
  EnvoyTapSettings settings;
  Mapper mapper(source, error);
  if (!mapper.parseRoot(*root, &settings)) return std::nullopt;
  return settings;
}

std::optional<EnvoyTapSettings> loadEnvoyTapConfig(const char* path, std::string* error) {
  auto failWith = [&](const std::string& problem) -> std::optional<EnvoyTapSettings> {
    if (error != nullptr) *error = std::string(path != nullptr ? path : "") + ": " + problem;
    return std::nullopt;
  };
  if (path == nullptr || path[0] == '\0') return failWith("no file named");
  const long fd = os::openFile(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return failWith(std::string("cannot open: ") + os::errorText(static_cast<int>(-fd)));
  std::string text;
  char buffer[4096];
  long result = 0;
  while (true) {
    result =
        os::readAt(static_cast<int>(fd), buffer, sizeof(buffer), static_cast<int64_t>(text.size()));
    if (result == -EINTR) continue;
    if (result <= 0) break;
    text.append(buffer, static_cast<size_t>(result));
    if (text.size() > kMaxEnvoyTapConfigBytes) break;
  }
  os::closeFd(static_cast<int>(fd));
  if (result < 0)
    return failWith(std::string("cannot read: ") + os::errorText(static_cast<int>(-result)));
  if (text.size() > kMaxEnvoyTapConfigBytes)
    return failWith("larger than 1 MiB: not a tap configuration");
  return parseEnvoyTapConfig(text, error, path);
}

}  // namespace tapshim::core
