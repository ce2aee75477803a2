#include "tap_core/config.h"

#include <charconv>
#include <string_view>

namespace tapshim::core {
namespace {

// Every variable tapshim knows. Those documented for later releases are
// refused while unsupported: a half-understood configuration must not tap
// with guessed settings.
constexpr std::string_view kNotYetSupported[] = {
    "TAP_STREAMING", "TAP_MIN_STREAMED_SENT_BYTES", "TAP_CONNECTION_PER_EVENT",
    "TAP_MATCH",     "TAP_CONFIG",                  "TAP_KEYLOG",
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

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool isFalseFlag(std::string_view value) {
  return value.empty() || value == "0" || equalsIgnoringCase(value, "false") ||
         equalsIgnoringCase(value, "no");
}

}  // namespace

ConfigResult parseConfig(const Environment& environment) {
  ConfigResult result;
  Config& config = result.config;
  auto fail = [&](std::string_view variable, std::string problem) {
    result.error = std::string(variable) + ": " + problem + "; tapping is off";
    result.config = Config{};
    return result;
  };

  const auto prefix = environment.get("TAP_PATH_PREFIX");
  if (!prefix.has_value()) return result;  // inert, whatever else is set
  if (prefix->empty()) return fail("TAP_PATH_PREFIX", "is empty");
  config.path_prefix = std::string(*prefix);

  if (auto value = environment.get("TAP_MAX_BUFFERED_RX_BYTES")) {
    if (!parseUint32(*value, &config.max_buffered_rx_bytes)) {
      return fail("TAP_MAX_BUFFERED_RX_BYTES",
                  quoted(*value) + " is not a byte count (0 to 4294967295)");
    }
  }
  if (auto value = environment.get("TAP_MAX_BUFFERED_TX_BYTES")) {
    if (!parseUint32(*value, &config.max_buffered_tx_bytes)) {
      return fail("TAP_MAX_BUFFERED_TX_BYTES",
                  quoted(*value) + " is not a byte count (0 to 4294967295)");
    }
  }
  if (auto value = environment.get("TAP_FORMAT")) {
    if (!equalsIgnoringCase(*value, "proto_binary")) {
      return fail("TAP_FORMAT", quoted(*value) + " is not supported (this build writes proto_binary)");
    }
  }
  if (auto value = environment.get("TAP_SINK")) {
    if (!equalsIgnoringCase(*value, "file_per_tap")) {
      return fail("TAP_SINK", quoted(*value) + " is not supported (this build has file_per_tap)");
    }
  }
  for (std::string_view name : kNotYetSupported) {
    auto value = environment.get(name);
    if (!value.has_value()) continue;
    if (name == "TAP_STREAMING" || name == "TAP_CONNECTION_PER_EVENT") {
      if (isFalseFlag(*value)) continue;
    }
    return fail(name, "is not supported by this build");
  }
  config.enabled = true;
  return result;
}

}  // namespace tapshim::core
