#include "tools/launcher/attach_options.h"

#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/launcher/launcher_options.h"

namespace tapshim::launcher {
namespace {

struct ValueFlag {
  std::string_view long_name;
  std::string_view short_name;
  std::optional<std::string> AttachOptions::*field;
};

constexpr ValueFlag kValueFlags[] = {
    {"--match", "", &AttachOptions::match},
    {"--config", "", &AttachOptions::config},
    {"--write", "-w", &AttachOptions::live_output},
    {"--max-rx-bytes", "", &AttachOptions::max_rx_bytes},
    {"--max-tx-bytes", "", &AttachOptions::max_tx_bytes},
    {"--min-streamed-sent-bytes", "", &AttachOptions::min_streamed_sent_bytes},
};

absl::Status checkValues(const AttachOptions& options) {
  if (options.pid <= 0) return absl::InvalidArgumentError("attach: no PID given");
  // The request is line-based, and no match expression needs a newline.
  if (options.match && (options.match->empty() || options.match->find('\n') != std::string::npos)) {
    return absl::InvalidArgumentError("--match: empty, or more than one line");
  }
  if (options.config && options.config->empty()) {
    return absl::InvalidArgumentError("--config: empty file name");
  }
  if (options.live_output && options.live_output->empty()) {
    return absl::InvalidArgumentError("-w: empty file name");
  }
  return checkByteLimitFlags(options.min_streamed_sent_bytes, options.max_rx_bytes,
                             options.max_tx_bytes);
}

}  // namespace

const char kAttachUsage[] =
    "usage: tapshim attach PID [options]\n"
    "Taps a running process that was started in standby (TAP_STANDBY=1, tapshim --standby,\n"
    "or TAP_CONFIG's admin_config), until Ctrl-C, --duration or the end of this command:\n"
    "connections open at the attach from then on (marked joined_late), new ones whole.\n"
    "Prints one line per event (tapshim-view --follow), or writes a live pcapng.\n"
    "  -w, --write FILE               a live pcapng to FILE (a FIFO works; - for stdout)\n"
    "                                 instead of event lines (tap2pcap --follow)\n"
    "  --match EXPR                   which connections to tap, tcpdump style\n"
    "  --config FILE                  an Envoy tap config (the body of Envoy's /tap request):\n"
    "                                 its match and limits; the output is the attach's\n"
    "  --duration SECONDS             end the attach after this long\n"
    "  --max-rx-bytes N               bytes of received data kept per event\n"
    "  --max-tx-bytes N               bytes of sent data kept per event\n"
    "  --min-streamed-sent-bytes N    batch events up to N bytes\n"
    "  --connection-per-event         the connection on every event\n"
    "  -h, --help                     this text\n"
    "Only the process's own user (or root) can attach, one attach at a time.\n"
    "Exit status: 0 when the attach ran and ended; 1 when it was refused (another user's\n"
    "process, no library in standby, already attached) or its output failed; 2 for a\n"
    "mistake on the command line.\n";

absl::StatusOr<AttachOptions> parseAttachCommandLine(int argc, const char* const* argv) {
  AttachOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      return options;
    }
    if (arg == "--connection-per-event") {
      options.connection_per_event = true;
      continue;
    }
    if (arg.empty() || arg[0] != '-') {
      int pid = 0;
      if (options.pid != 0) return absl::InvalidArgumentError("attach: one PID only");
      if (!absl::SimpleAtoi(std::string(arg), &pid) || pid <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("attach: '", std::string(arg), "' is not a process id"));
      }
      options.pid = pid;
      continue;
    }
    std::optional<std::string> value;
    std::string_view name = arg;
    if (const size_t equals = arg.find('='); equals != std::string_view::npos && arg[1] == '-') {
      name = arg.substr(0, equals);
      value = std::string(arg.substr(equals + 1));
    }
    auto take = [&]() -> absl::StatusOr<std::string> {
      if (value) return *value;
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat(std::string(name), " needs a value"));
      }
      return std::string(argv[++i]);
    };
    if (name == "--duration") {
      absl::StatusOr<std::string> text = take();
      if (!text.ok()) return text.status();
      double seconds = 0;
      if (options.duration_seconds) return absl::InvalidArgumentError("--duration given twice");
      if (!absl::SimpleAtod(*text, &seconds) || !std::isfinite(seconds) || seconds <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--duration: '", *text, "' is not a positive number of seconds"));
      }
      options.duration_seconds = seconds;
      continue;
    }
    const ValueFlag* matched = nullptr;
    for (const ValueFlag& flag : kValueFlags) {
      if (name == flag.long_name || (!flag.short_name.empty() && name == flag.short_name)) {
        matched = &flag;
      }
    }
    if (matched == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("attach: unknown flag ", std::string(arg)));
    }
    absl::StatusOr<std::string> text = take();
    if (!text.ok()) return text.status();
    std::optional<std::string>& field = options.*(matched->field);
    if (field) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(matched->long_name), " given twice"));
    }
    field = *std::move(text);
  }
  absl::Status valid = checkValues(options);
  if (!valid.ok()) return valid;
  return options;
}

}  // namespace tapshim::launcher
