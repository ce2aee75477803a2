#include "tools/launcher/launcher_options.h"

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tapshim::launcher {
namespace {

constexpr std::string_view kFormats[] = {
    "proto_binary",       "proto_binary_length_delimited", "proto_text",
    "json_body_as_bytes", "json_body_as_string",
};
constexpr std::string_view kSinks[] = {"file_per_tap", "file_per_process"};

// A byte count as the shim takes it: decimal, 0 to 4294967295.
bool isByteCount(std::string_view text) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value <= UINT32_MAX;
}

// TAP_MAX_BUFFERED_TOTAL_BYTES: decimal, 0 to 18446744073709551615.
bool isTotalByteCount(std::string_view text) {
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  return true;
}

template <size_t N>
bool isOneOf(std::string_view value, const std::string_view (&names)[N]) {
  const std::string lower = absl::AsciiStrToLower(std::string(value));
  for (std::string_view name : names) {
    if (lower == name) return true;
  }
  return false;
}

// A flag that takes a value, and where it goes.
struct ValueFlag {
  std::string_view long_name;
  std::string_view short_name;  // empty if none
  std::optional<std::string> LauncherOptions::*field;
};

constexpr ValueFlag kValueFlags[] = {
    {"--output", "-o", &LauncherOptions::prefix},
    {"--format", "", &LauncherOptions::format},
    {"--min-streamed-sent-bytes", "", &LauncherOptions::min_streamed_sent_bytes},
    {"--max-rx-bytes", "", &LauncherOptions::max_rx_bytes},
    {"--max-tx-bytes", "", &LauncherOptions::max_tx_bytes},
    {"--max-total-bytes", "", &LauncherOptions::max_total_bytes},
    {"--match", "", &LauncherOptions::match},
    {"--config", "", &LauncherOptions::config},
    {"--sink", "", &LauncherOptions::sink},
    {"--library", "", &LauncherOptions::library},
    {"--runs-as", "", &LauncherOptions::runs_as},
    {"--write", "-w", &LauncherOptions::live_output},
};

absl::Status checkValues(const LauncherOptions& options) {
  if (options.standby) {
    // Standby records nothing until `tapshim attach`, which brings where
    // and what: a destination of the launcher's own would never be used.
    if (options.prefix || options.live_output || options.config) {
      return absl::InvalidArgumentError(
          "--standby cannot be given with -o, -w or --config: `tapshim attach` names them");
    }
  }
  if (options.live_output) {
    // -w streams into a directory of its own; the prefix is the launcher's.
    if (options.prefix) {
      return absl::InvalidArgumentError(
          "-o cannot be given with -w: the traces go to a private directory, removed at the end");
    }
    if (options.live_output->empty()) return absl::InvalidArgumentError("-w: empty file name");
    if (*options.live_output == "-") {
      return absl::InvalidArgumentError(
          "-w -: the program's stdout is its own; name a file or a FIFO (mkfifo)");
    }
  } else if (!options.prefix && !options.config && !options.standby) {
    return absl::InvalidArgumentError("-o PREFIX, --config FILE or -w FILE is required");
  }
  if (options.prefix && options.prefix->empty()) {
    return absl::InvalidArgumentError("-o: empty prefix");
  }
  if (options.config && options.config->empty()) {
    return absl::InvalidArgumentError("--config: empty file name");
  }
  if (options.library && options.library->empty()) {
    return absl::InvalidArgumentError("--library: empty file name");
  }
  if (absl::Status limits = checkByteLimitFlags(options.min_streamed_sent_bytes,
                                                options.max_rx_bytes, options.max_tx_bytes);
      !limits.ok()) {
    return limits;
  }
  if (options.max_total_bytes && !isTotalByteCount(*options.max_total_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat("--max-total-bytes: '", *options.max_total_bytes,
                                                   "' is not a byte count (0 to "
                                                   "18446744073709551615)"));
  }
  if (options.runs_as && options.runs_as->empty()) {
    return absl::InvalidArgumentError("--runs-as: empty user");
  }
  if (options.format && !isOneOf(*options.format, kFormats)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--format: '", *options.format,
                     "' is not one of proto_binary, proto_binary_length_delimited, proto_text, "
                     "json_body_as_bytes, json_body_as_string"));
  }
  if (options.sink && !isOneOf(*options.sink, kSinks)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--sink: '", *options.sink, "' is not one of file_per_tap, file_per_process"));
  }
  if (options.match && options.match->empty()) {
    return absl::InvalidArgumentError("--match: empty expression");
  }
  if (options.command.empty()) return absl::InvalidArgumentError("no command to run");
  return absl::OkStatus();
}

}  // namespace

const char* const kLauncherVariables[] = {
    "TAP_PATH_PREFIX",
    "TAP_FORMAT",
    "TAP_STREAMING",
    "TAP_MIN_STREAMED_SENT_BYTES",
    "TAP_CONNECTION_PER_EVENT",
    "TAP_MAX_BUFFERED_RX_BYTES",
    "TAP_MAX_BUFFERED_TX_BYTES",
    "TAP_MAX_BUFFERED_TOTAL_BYTES",
    "TAP_MATCH",
    "TAP_CONFIG",
    "TAP_SINK",
    "TAP_STANDBY",
    nullptr,
};

const char kLauncherUsage[] =
    "usage: tapshim -o PREFIX [options] [--] CMD [ARGS...]\n"
    "       tapshim --config FILE [options] [--] CMD [ARGS...]\n"
    "       tapshim -w FILE [options] [--] CMD [ARGS...]\n"
    "       tapshim --standby [options] [--] CMD [ARGS...]\n"
    "       tapshim attach PID [--match EXPR] [--config FILE] [-w FILE] [--duration S]\n"
    "Runs CMD with libtapshim.so preloaded: one trace per TCP connection, written to\n"
    "PREFIX_<trace_id>.<ext>. CMD's exit status, signals and stdio are its own.\n"
    "  -o, --output PREFIX            trace file prefix (TAP_PATH_PREFIX)\n"
    "  -w, --write FILE               a live pcapng of CMD's connections to FILE (a FIFO works)\n"
    "                                 instead of trace files: streamed into a private\n"
    "                                 directory, removed at the end; not with -o\n"
    "  --format F                     proto_binary, proto_binary_length_delimited, proto_text,\n"
    "                                 json_body_as_bytes or json_body_as_string (TAP_FORMAT)\n"
    "  --standby                      record nothing until `tapshim attach PID` (TAP_STANDBY=1);\n"
    "                                 not with -o, -w or --config (tapshim attach --help)\n"
    "  --streaming                    streamed segments instead of one trace at close\n"
    "                                 (TAP_STREAMING=1)\n"
    "  --min-streamed-sent-bytes N    batched streaming threshold (TAP_MIN_STREAMED_SENT_BYTES)\n"
    "  --connection-per-event         the connection on every event (TAP_CONNECTION_PER_EVENT=1)\n"
    "  --max-rx-bytes N               bytes of received data kept (TAP_MAX_BUFFERED_RX_BYTES)\n"
    "  --max-tx-bytes N               bytes of sent data kept (TAP_MAX_BUFFERED_TX_BYTES)\n"
    "  --max-total-bytes N            bytes all buffered traces of a process hold at once\n"
    "                                 (TAP_MAX_BUFFERED_TOTAL_BYTES)\n"
    "  --match EXPR                   which connections to tap, tcpdump style (TAP_MATCH)\n"
    "  --config FILE                  an Envoy tap config, YAML or JSON (TAP_CONFIG)\n"
    "  --sink S                       file_per_tap or file_per_process (TAP_SINK)\n"
    "  --library PATH                 the libtapshim.so to preload (default: this build's or\n"
    "                                 installation's)\n"
    "  --runs-as USER                 the user CMD becomes once started (apache's User, nginx's\n"
    "                                 user): warn if that user cannot create PREFIX's files\n"
    "  -h, --help                     this text\n"
    "  --version                      the version\n"
    "Flags also take the form --flag=VALUE. TAP_* variables these flags stand for are\n"
    "taken from the command line only; an LD_PRELOAD already set is kept after the shim\n"
    "(a sanitizer's runtime, which must come first, stays first).\n"
    "Exit status: CMD's; 2 for a mistake on the command line or a missing library,\n"
    "127 if CMD is not found, 126 if it cannot be run.\n";

absl::Status checkByteLimitFlags(const std::optional<std::string>& min_streamed_sent_bytes,
                                 const std::optional<std::string>& max_rx_bytes,
                                 const std::optional<std::string>& max_tx_bytes) {
  for (auto [flag, value] :
       {std::pair{"--min-streamed-sent-bytes", &min_streamed_sent_bytes},
        std::pair{"--max-rx-bytes", &max_rx_bytes}, std::pair{"--max-tx-bytes", &max_tx_bytes}}) {
    if (*value && !isByteCount(**value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": '", **value, "' is not a byte count (0 to 4294967295)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LauncherOptions> parseLauncherCommandLine(int argc, const char* const* argv) {
  LauncherOptions options;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || arg[0] != '-' || arg == "-") break;  // the command
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      return options;
    }
    if (arg == "--version") {
      options.version = true;
      return options;
    }
    if (arg == "--standby") {
      options.standby = true;
      continue;
    }
    if (arg == "--streaming") {
      options.streaming = true;
      continue;
    }
    if (arg == "--connection-per-event") {
      options.connection_per_event = true;
      continue;
    }
    const ValueFlag* matched = nullptr;
    std::optional<std::string> value;
    for (const ValueFlag& flag : kValueFlags) {
      for (std::string_view name : {flag.long_name, flag.short_name}) {
        if (name.empty()) continue;
        if (arg == name) {
          matched = &flag;
        } else if (arg.size() > name.size() && arg.substr(0, name.size()) == name &&
                   arg[name.size()] == '=') {
          matched = &flag;
          value = std::string(arg.substr(name.size() + 1));
        }
      }
      if (matched != nullptr) break;
    }
    if (matched == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", std::string(arg)));
    }
    if (!value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat(std::string(arg), " needs a value"));
      }
      value = argv[++i];
    }
    std::optional<std::string>& field = options.*(matched->field);
    if (field) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(matched->long_name), " given twice"));
    }
    field = std::move(value);
  }
  for (; i < argc; ++i) options.command.emplace_back(argv[i]);
  absl::Status valid = checkValues(options);
  if (!valid.ok()) return valid;
  return options;
}

std::vector<std::pair<std::string, std::string>> environmentFor(const LauncherOptions& options) {
  std::vector<std::pair<std::string, std::string>> variables;
  auto add = [&](const char* name, const std::optional<std::string>& value) {
    if (value) variables.emplace_back(name, *value);
  };
  add("TAP_PATH_PREFIX", options.prefix);
  if (options.standby) variables.emplace_back("TAP_STANDBY", "1");
  add("TAP_CONFIG", options.config);
  add("TAP_FORMAT", options.format);
  if (options.streaming) variables.emplace_back("TAP_STREAMING", "1");
  add("TAP_MIN_STREAMED_SENT_BYTES", options.min_streamed_sent_bytes);
  if (options.connection_per_event) variables.emplace_back("TAP_CONNECTION_PER_EVENT", "1");
  add("TAP_MAX_BUFFERED_RX_BYTES", options.max_rx_bytes);
  add("TAP_MAX_BUFFERED_TX_BYTES", options.max_tx_bytes);
  add("TAP_MAX_BUFFERED_TOTAL_BYTES", options.max_total_bytes);
  add("TAP_MATCH", options.match);
  add("TAP_SINK", options.sink);
  return variables;
}

}  // namespace tapshim::launcher
