// The launcher's command line:
//   tapshim -o PREFIX [options] [--] CMD ARGS...
// Flags are spelled with dashes, as tap2pcap's; "--" or the first argument
// that is not a flag ends them. Each flag stands for one TAP_* variable of
// the shim (see environmentFor), but --library and --runs-as, which are
// the launcher's own.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tapshim::launcher {

struct LauncherOptions {
  bool help = false;
  bool version = false;
  std::optional<std::string> prefix;                   // -o/--output: TAP_PATH_PREFIX
  std::optional<std::string> format;                   // --format: TAP_FORMAT
  bool streaming = false;                              // --streaming: TAP_STREAMING=1
  bool standby = false;                                // --standby: TAP_STANDBY=1
  std::optional<std::string> min_streamed_sent_bytes;  // TAP_MIN_STREAMED_SENT_BYTES
  bool connection_per_event = false;                   // TAP_CONNECTION_PER_EVENT=1
  std::optional<std::string> max_rx_bytes;             // TAP_MAX_BUFFERED_RX_BYTES
  std::optional<std::string> max_tx_bytes;             // TAP_MAX_BUFFERED_TX_BYTES
  std::optional<std::string> max_total_bytes;          // TAP_MAX_BUFFERED_TOTAL_BYTES
  std::optional<std::string> match;                    // TAP_MATCH
  std::optional<std::string> config;                   // TAP_CONFIG
  std::optional<std::string> sink;                     // TAP_SINK
  std::optional<std::string> library;                  // --library: the shim to preload
  std::optional<std::string> runs_as;                  // --runs-as: whose access to check
  std::optional<std::string> live_output;              // -w/--write: a live pcapng (live_capture.h)
  std::vector<std::string> command;                    // CMD ARGS...
};

// @return the options, or an error (one line, without the program name)
//         for a flag that is unknown, lacks its value, is given twice, or
//         has a value that is obviously wrong (a limit that is not a
//         number, an unknown format or sink); also when neither -o nor
//         --config is given or there is no command. Deeper checks (match
//         expressions, config files) are the shim's.
absl::StatusOr<LauncherOptions> parseLauncherCommandLine(int argc, const char* const* argv);

// The per-connection byte limits that both the launcher and an attach take
// (--min-streamed-sent-bytes, --max-rx-bytes, --max-tx-bytes): each, when
// given, a byte count as the shim reads it (decimal, 0 to 4294967295).
absl::Status checkByteLimitFlags(const std::optional<std::string>& min_streamed_sent_bytes,
                                 const std::optional<std::string>& max_rx_bytes,
                                 const std::optional<std::string>& max_tx_bytes);

// The TAP_* variables the options set, in a fixed order.
std::vector<std::pair<std::string, std::string>> environmentFor(const LauncherOptions& options);

// Every TAP_* variable a launcher flag stands for: the launcher removes
// those it does not set from the inherited environment, so the command
// line alone decides (TAP_KEYLOG, which has no flag, passes through).
extern const char* const kLauncherVariables[];

extern const char kLauncherUsage[];

}  // namespace tapshim::launcher
