#include "tap_core/config/config.h"

#include <optional>
#include <string_view>
#include <utility>

#include "tap_core/base/ascii.h"
#include "tap_core/base/load_time.h"
#include "tap_core/config/disk_reserve_value.h"
#include "tap_core/config/envoy_tap_config.h"

namespace tapshim::core {
namespace {

struct FormatName {
  std::string_view name;
  OutputFormat format;
};
constexpr FormatName kFormats[] = {
    {"json_body_as_bytes", OutputFormat::kJsonBodyAsBytes},
    {"json_body_as_string", OutputFormat::kJsonBodyAsString},
    {"proto_binary", OutputFormat::kProtoBinary},
    {"proto_binary_length_delimited", OutputFormat::kProtoBinaryLengthDelimited},
    {"proto_text", OutputFormat::kProtoText},
};

std::string quoted(std::string_view value) { return "'" + std::string(value) + "'"; }

bool parseUint32(std::string_view text, uint32_t* value) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t parsed = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    parsed = parsed * 10 + static_cast<uint64_t>(c - '0');
  }
  if (parsed > UINT32_MAX) return false;
  *value = static_cast<uint32_t>(parsed);
  return true;
}

// A decimal count that fits 64 bits (no sign, no spaces, no suffix).
bool parseUint64(std::string_view text, uint64_t* value) {
  if (text.empty()) return false;
  uint64_t parsed = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (parsed > (UINT64_MAX - digit) / 10) return false;
    parsed = parsed * 10 + digit;
  }
  *value = parsed;
  return true;
}

// 1/true/yes or 0/false/no (any case), empty for no; anything else is an
// error.
TAPSHIM_LOAD_TIME std::optional<bool> parseFlag(std::string_view value) {
  if (value.empty()) return false;
  for (std::string_view yes : {"1", "true", "yes"}) {
    if (equalsIgnoringCase(value, yes)) return true;
  }
  for (std::string_view no : {"0", "false", "no"}) {
    if (equalsIgnoringCase(value, no)) return false;
  }
  return std::nullopt;
}

}  // namespace

TAPSHIM_LOAD_TIME ConfigResult parseConfig(const Environment& environment) {
  ConfigResult result;
  Config& config = result.config;
  auto fail = [&](std::string_view variable, std::string problem) {
    result.error = std::string(variable) + ": " + problem + "; tapping is off";
    result.config = Config{};
    return result;
  };

  const auto prefix = environment.get("TAP_PATH_PREFIX");
  const auto config_file = environment.get("TAP_CONFIG");
  bool standby = false;
  if (auto value = environment.get("TAP_STANDBY")) {
    std::optional<bool> parsed = parseFlag(*value);
    if (!parsed.has_value()) {
      return fail("TAP_STANDBY", quoted(*value) + " is not 1/true/yes or 0/false/no");
    }
    standby = *parsed;
  }
  if (!prefix.has_value() && !config_file.has_value() && !standby) return result;  // inert

  // Envoy's tap config first; every variable below overrides it.
  std::optional<OutputFormat> format;
  if (config_file.has_value()) {
    if (config_file->empty()) return fail("TAP_CONFIG", "is empty");
    std::string error;
    const std::string path(*config_file);
    std::optional<EnvoyTapSettings> settings = loadEnvoyTapConfig(path.c_str(), &error);
    if (!settings.has_value()) {
      result.error = "TAP_CONFIG: " + error + "; tapping is off";
      result.config = Config{};
      return result;
    }
    config.path_prefix = settings->path_prefix;
    // admin_config: Envoy waits for a tap request; tapshim, for an attach.
    if (settings->standby) standby = true;
    format = settings->format;  // Envoy's default (JSON_BODY_AS_BYTES) when absent
    if (settings->max_buffered_rx_bytes)
      config.max_buffered_rx_bytes = *settings->max_buffered_rx_bytes;
    if (settings->max_buffered_tx_bytes)
      config.max_buffered_tx_bytes = *settings->max_buffered_tx_bytes;
    if (settings->min_streamed_sent_bytes) {
      config.min_streamed_sent_bytes = *settings->min_streamed_sent_bytes;
    }
    config.streaming = settings->streaming;
    config.connection_per_event = settings->connection_per_event;
    config.match_all = settings->match_all;
  }

  if (prefix.has_value()) {
    if (prefix->empty()) return fail("TAP_PATH_PREFIX", "is empty");
    // In standby, where traces go is the attach's to say (its private
    // directory): a prefix of the process's own would be ignored silently.
    if (standby) {
      return fail("TAP_PATH_PREFIX",
                  "cannot be combined with standby (TAP_STANDBY or TAP_CONFIG's admin_config): "
                  "`tapshim attach` names where traces go");
    }
    config.path_prefix = std::string(*prefix);
  }
  for (auto [variable, limit] :
       {std::pair{"TAP_MAX_BUFFERED_RX_BYTES", &config.max_buffered_rx_bytes},
        std::pair{"TAP_MAX_BUFFERED_TX_BYTES", &config.max_buffered_tx_bytes},
        std::pair{"TAP_MIN_STREAMED_SENT_BYTES", &config.min_streamed_sent_bytes}}) {
    if (auto value = environment.get(variable)) {
      if (!parseUint32(*value, limit)) {
        return fail(variable, quoted(*value) + " is not a byte count (0 to 4294967295)");
      }
    }
  }
  if (auto value = environment.get("TAP_MAX_BUFFERED_TOTAL_BYTES")) {
    if (!parseUint64(*value, &config.max_buffered_total_bytes)) {
      return fail("TAP_MAX_BUFFERED_TOTAL_BYTES",
                  quoted(*value) + " is not a byte count (0 to 18446744073709551615)");
    }
  }
  for (auto [variable, flag] : {std::pair{"TAP_STREAMING", &config.streaming},
                                std::pair{"TAP_CONNECTION_PER_EVENT", &config.connection_per_event},
                                std::pair{"TAP_PATCH", &config.patch}}) {
    if (auto value = environment.get(variable)) {
      std::optional<bool> parsed = parseFlag(*value);
      if (!parsed.has_value()) {
        return fail(variable, quoted(*value) + " is not 1/true/yes or 0/false/no");
      }
      *flag = *parsed;
    }
  }
  if (auto value = environment.get("TAP_FORMAT")) {
    format.reset();
    for (const FormatName& known : kFormats) {
      if (equalsIgnoringCase(*value, known.name)) format = known.format;
    }
    if (!format.has_value()) {
      return fail("TAP_FORMAT", quoted(*value) +
                                    " is not one of proto_binary, proto_binary_length_delimited, "
                                    "proto_text, json_body_as_bytes, json_body_as_string");
    }
  }
  if (auto value = environment.get("TAP_SINK")) {
    if (equalsIgnoringCase(*value, "file_per_tap")) {
      config.sink = SinkKind::kFilePerTap;
    } else if (equalsIgnoringCase(*value, "file_per_process")) {
      config.sink = SinkKind::kFilePerProcess;
    } else {
      return fail("TAP_SINK", quoted(*value) + " is not one of file_per_tap, file_per_process");
    }
  }
  if (config.sink == SinkKind::kFilePerProcess) {
    // Many traces in one file need delimited messages: proto_binary ones
    // back to back would parse (with libprotobuf) as one merged message.
    if (format == OutputFormat::kProtoBinary) {
      return fail("TAP_SINK",
                  "file_per_process needs a delimited format (proto_binary_length_delimited, "
                  "proto_text, json_body_as_bytes or json_body_as_string), not proto_binary");
    }
    config.format = format.value_or(OutputFormat::kProtoBinaryLengthDelimited);
  } else {
    // Without a format from anywhere: a file that can be read back.
    config.format = format.value_or(config.streaming ? OutputFormat::kProtoBinaryLengthDelimited
                                                     : OutputFormat::kProtoBinary);
  }
  if (auto value = environment.get("TAP_MATCH")) {
    std::string error;
    config.match = MatchExpression::parse(*value, &error);
    if (!config.match.has_value()) {
      result.error = error + "; tapping is off";
      result.config = Config{};
      return result;
    }
  }
  if (auto value = environment.get("TAP_KEYLOG")) {
    if (value->empty()) return fail("TAP_KEYLOG", "is empty");
    config.keylog_path = std::string(*value);
  }
  if (auto value = environment.get("TAP_DISK_RESERVE")) {
    const std::optional<DiskReserveValue> reserve = parseDiskReserve(*value);
    if (!reserve.has_value()) {
      return fail("TAP_DISK_RESERVE",
                  quoted(*value) +
                      " is not a byte count (with an optional K, M or G suffix) or a percentage "
                      "(0% to 100%)");
    }
    config.disk_reserve_bytes = reserve->bytes;
    config.disk_reserve_percent = reserve->percent;
  }
  if (auto value = environment.get("XDG_RUNTIME_DIR")) config.runtime_dir = std::string(*value);
  config.standby = standby;
  config.enabled = true;
  return result;
}

}  // namespace tapshim::core
