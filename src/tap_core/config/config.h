// src/tap_core/config/: reading the configuration, once, at start-up.
// The environment is copied in one place (environment.h); Config (this
// file) is the immutable result, built by a pure function from it and
// from an Envoy tap config if TAP_CONFIG names one (envoy_tap_config.h,
// reading Envoy's field rules through envoy_fields.h, on the libc-only
// YAML/JSON parser of yaml_scanner.h and yaml_parser.h). Uses match/ (the
// TAP_MATCH program is part of the config) and base/.
//
// tapshim's settings, parsed once from the environment by a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tap_core/config/environment.h"
#include "tap_core/match/match_expression.h"

namespace tapshim::core {

// Envoy's OutputSink.Format (same names; the numbering is Envoy's enum's).
enum class OutputFormat : uint8_t {
  kJsonBodyAsBytes = 0,
  kJsonBodyAsString = 1,
  kProtoBinary = 2,
  kProtoBinaryLengthDelimited = 3,
  kProtoText = 4,
};

// TAP_SINK: where traces go.
enum class SinkKind : uint8_t {
  kFilePerTap,      // Envoy's: a file per trace
  kFilePerProcess,  // every trace of the process in one delimited file
};

struct Config {
  static constexpr uint32_t kDefaultMaxBufferedBytes = 1024;  // Envoy's default
  static constexpr uint64_t kDefaultMaxBufferedTotalBytes = uint64_t{64} << 20;

  // False: the shim forwards every call and records nothing.
  bool enabled = false;
  std::string path_prefix;
  uint32_t max_buffered_rx_bytes = kDefaultMaxBufferedBytes;
  uint32_t max_buffered_tx_bytes = kDefaultMaxBufferedBytes;
  // TAP_MAX_BUFFERED_TOTAL_BYTES: what all buffered traces of the process
  // hold at once (tapshim's; Envoy bounds only each connection).
  uint64_t max_buffered_total_bytes = kDefaultMaxBufferedTotalBytes;
  OutputFormat format = OutputFormat::kProtoBinary;
  SinkKind sink = SinkKind::kFilePerTap;
  bool streaming = false;
  // > 0: streamed events are batched until this many bytes (Envoy's
  // min_streamed_sent_bytes).
  uint32_t min_streamed_sent_bytes = 0;
  bool connection_per_event = false;
  // TAP_CONFIG's match predicate folded to a constant: false taps nothing.
  bool match_all = true;
  // TAP_KEYLOG: where TLS secrets are appended (NSS key log format); empty
  // for none.
  std::string keylog_path;
  // TAP_DISK_RESERVE: the free space the file system of the traces keeps;
  // below it no trace is created and no streamed message written. A
  // percentage of its size, or (percent 0) bytes; both 0: no reserve.
  uint32_t disk_reserve_percent = 5;
  uint64_t disk_reserve_bytes = 0;
  // TAP_PATCH: detour the TLS functions of an executable that carries its
  // own OpenSSL (node, libssl.a) to the hooks. 0 leaves the program's code
  // untouched.
  bool patch = true;
  // TAP_MATCH, when given.
  std::optional<MatchExpression> match;
  // TAP_STANDBY=1, or TAP_CONFIG's common_config.admin_config: nothing is
  // recorded and no file created until `tapshim attach` asks, through the
  // rendezvous directory; path_prefix is then empty (the attach names the
  // place).
  bool standby = false;
  // Built for an attach (not from the environment): a socket adopted at
  // its first I/O was already open when tapping began, so its trace is
  // marked joined_late.
  bool attached = false;
  // XDG_RUNTIME_DIR, where the rendezvous directory is looked for (its
  // checks are the standby code's); empty when unset.
  std::string runtime_dir;
};

struct ConfigResult {
  Config config;
  // Empty, or one line naming the variable and what is wrong with it. A
  // configuration with an error is never used: tapping stays off.
  std::string error;
};

ConfigResult parseConfig(const Environment& environment);

}  // namespace tapshim::core
