// The command line of `tapshim attach`:
//   tapshim attach PID [--match EXPR] [--config FILE] [-w FILE]
//                      [--duration SECONDS] [limits]
// Flags are spelled as the launcher's; the limits are the launcher's
// --max-rx-bytes, --max-tx-bytes, --min-streamed-sent-bytes and
// --connection-per-event, which the attach request carries to the process.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace tapshim::launcher {

struct AttachOptions {
  bool help = false;
  pid_t pid = 0;
  std::optional<std::string> match;        // TAP_MATCH, for the attach
  std::optional<std::string> config;       // an Envoy tap config (as Envoy's /tap body)
  std::optional<std::string> live_output;  // -w: a live pcapng instead of event lines
  std::optional<double> duration_seconds;  // --duration: end by itself
  std::optional<std::string> max_rx_bytes;
  std::optional<std::string> max_tx_bytes;
  std::optional<std::string> min_streamed_sent_bytes;
  bool connection_per_event = false;
};

// `argv[0]` is "attach". @return the options, or one line saying what is
// wrong (no PID, a PID that is not a positive number, an unknown or
// repeated flag, a value that cannot be right).
absl::StatusOr<AttachOptions> parseAttachCommandLine(int argc, const char* const* argv);

extern const char kAttachUsage[];

}  // namespace tapshim::launcher
