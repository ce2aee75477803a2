// TAP_CONFIG: Envoy's tap configuration, unchanged, as tapshim settings.
//
// The file holds, in YAML or JSON, one of:
//   - the `transport_socket` block (`transport_socket: {name:
//     envoy.transport_sockets.tap, typed_config: ...}`), or that block's
//     content (`name` + `typed_config`);
//   - its `typed_config` (envoy.extensions.transport_sockets.tap.v3.Tap);
//   - a bare TapConfig (`match`/`match_config` + `output_config`).
// Field names are accepted in snake_case and lowerCamelCase, as Envoy's
// parser does; unknown fields are refused as Envoy refuses them. Anything
// tapshim cannot honour (admin, gRPC or custom sinks, HTTP matchers, more
// than one sink) is an error: a half-understood configuration never taps.
// A Tap whose common_config is admin_config puts the process in standby
// (an attach then brings the match and output, as Envoy's /tap request).
//
// Errors are one line: `<source>:<line>: <field path>: <problem>` (or
// `<source>:<line>: <problem>` for YAML syntax, `<source>: <problem>` when
// the file cannot be read). The source is the file's path; callers prefix
// the variable name (`TAP_CONFIG: ...`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tap_core/config/config.h"

namespace tapshim::core {

struct EnvoyTapSettings {
  // file_per_tap.path_prefix (never empty, but in standby: empty).
  std::string path_prefix;
  // common_config.admin_config: no tapping until an attach (the config_id
  // is kept for messages only).
  bool standby = false;
  std::string admin_config_id;
  // sinks[0].format; Envoy's default when absent.
  OutputFormat format = OutputFormat::kJsonBodyAsBytes;
  bool format_given = false;
  // output_config; unset when absent from the file.
  std::optional<uint32_t> max_buffered_rx_bytes;
  std::optional<uint32_t> max_buffered_tx_bytes;
  std::optional<uint32_t> min_streamed_sent_bytes;
  bool streaming = false;
  // socket_tap_config.set_connection_per_event.
  bool connection_per_event = false;
  // The match predicate folded to a constant: true taps every connection,
  // false none (only any_match and and/or/not of it can decide on a socket).
  bool match_all = true;
};

// Largest TAP_CONFIG file read (a tap configuration is a few hundred bytes).
inline constexpr size_t kMaxEnvoyTapConfigBytes = 1 << 20;

// Reads `path` (raw system calls: never the hooked read) and parses it.
std::optional<EnvoyTapSettings> loadEnvoyTapConfig(const char* path, std::string* error);

// Parses `text`; `source` names it in error messages.
std::optional<EnvoyTapSettings> parseEnvoyTapConfig(std::string_view text, std::string* error,
                                                    std::string_view source = "<text>");

}  // namespace tapshim::core
