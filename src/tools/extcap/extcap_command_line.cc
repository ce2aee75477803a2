#include "tools/extcap/extcap_command_line.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tapshim::extcap {
namespace {

using Action = ExtcapRequest::Action;

struct ValueFlag {
  absl::string_view name;
  std::optional<std::string> ExtcapRequest::*field;  // nullptr: accepted, ignored
};

constexpr ValueFlag kValueFlags[] = {
    {"--extcap-interface", &ExtcapRequest::interface},
    {"--fifo", &ExtcapRequest::fifo},
    {"--extcap-capture-filter", &ExtcapRequest::capture_filter},
    {"--command", &ExtcapRequest::command},
    {"--program-output", &ExtcapRequest::program_output},
    {"--directory", &ExtcapRequest::directory},
    {"--pid", &ExtcapRequest::pid},
    {"--match", &ExtcapRequest::match},
    {"--max-rx-bytes", &ExtcapRequest::max_rx_bytes},
    {"--max-tx-bytes", &ExtcapRequest::max_tx_bytes},
    // Wireshark's own, which the tool has no use for.
    {"--extcap-version", nullptr},
    {"--debug-file", nullptr},
};

struct ActionFlag {
  absl::string_view name;
  Action action;
};

constexpr ActionFlag kActionFlags[] = {
    {"--extcap-interfaces", Action::kInterfaces},
    {"--extcap-dlts", Action::kDlts},
    {"--extcap-config", Action::kConfig},
    {"--capture", Action::kCapture},
    {"--install-user", Action::kInstallUser},
    {"--help", Action::kHelp},
    {"-h", Action::kHelp},
    {"--version", Action::kVersion},
};

}  // namespace

const char kExtcapUsage[] =
    "usage: tapshim-extcap --extcap-interfaces\n"
    "       tapshim-extcap --extcap-interface IF --extcap-dlts | --extcap-config\n"
    "       tapshim-extcap --extcap-interface IF --extcap-capture-filter EXPR\n"
    "       tapshim-extcap --capture --extcap-interface IF --fifo PATH [arguments]\n"
    "       tapshim-extcap --install-user\n"
    "Wireshark's extcap interfaces for tapshim: live captures of programs' plaintext.\n"
    "Wireshark runs it; --install-user makes Wireshark find it. Interfaces (IF):\n"
    "  tapshim-run      runs --command under tapshim -w\n"
    "  tapshim-follow   follows --directory with tap2pcap --follow\n"
    "  tapshim-attach   attaches to --pid with tapshim attach\n"
    "  --extcap-interfaces            list the interfaces (and the tool's version)\n"
    "  --extcap-version V             Wireshark's version (ignored)\n"
    "  --extcap-interface IF          the interface the other flags are about\n"
    "  --extcap-dlts                  the interface's link type\n"
    "  --extcap-config                the interface's arguments, for the capture dialog\n"
    "  --extcap-capture-filter EXPR   a tapshim match expression; without --capture,\n"
    "                                 only checked: nothing printed if it is valid\n"
    "  --capture                      capture into the FIFO until stopped\n"
    "  --fifo PATH                    the FIFO Wireshark reads\n"
    "  --command CMD                  tapshim-run: the program, split as a shell would\n"
    "  --program-output FILE          tapshim-run: the program's stdout and stderr\n"
    "                                 (default: discarded)\n"
    "  --directory DIR                tapshim-follow: the directory of streamed traces\n"
    "  --pid PID                      tapshim-attach: the process\n"
    "  --match EXPR                   tapshim-run, tapshim-attach: which connections\n"
    "  --max-rx-bytes N, --max-tx-bytes N\n"
    "                                 tapshim-run, tapshim-attach: bytes kept per event\n"
    "  --debug, --debug-file FILE     accepted from Wireshark, ignored\n"
    "  --install-user                 link this program into the user's extcap\n"
    "                                 directory (~/.local/lib/wireshark/extcap)\n"
    "  -h, --help                     this text\n"
    "  --version                      the version\n"
    "Exit status: 0; 1 if a capture failed or the program ended badly, 2 for a\n"
    "mistake on the command line.\n";

absl::StatusOr<ExtcapRequest> parseExtcapCommandLine(int argc, const char* const* argv) {
  ExtcapRequest request;
  std::optional<Action> action;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--debug") continue;
    const ActionFlag* action_flag = nullptr;
    for (const ActionFlag& flag : kActionFlags) {
      if (arg == flag.name) action_flag = &flag;
    }
    if (action_flag != nullptr) {
      if (action_flag->action == Action::kHelp || action_flag->action == Action::kVersion) {
        request.action = action_flag->action;
        return request;
      }
      if (action && *action != action_flag->action) {
        return absl::InvalidArgumentError(absl::StrCat(arg,
                                                       " cannot be combined with another "
                                                       "action"));
      }
      action = action_flag->action;
      continue;
    }
    const ValueFlag* matched = nullptr;
    std::optional<std::string> value;
    for (const ValueFlag& flag : kValueFlags) {
      if (arg == flag.name) {
        matched = &flag;
      } else if (arg.size() > flag.name.size() && arg.substr(0, flag.name.size()) == flag.name &&
                 arg[flag.name.size()] == '=') {
        matched = &flag;
        value = std::string(arg.substr(flag.name.size() + 1));
      }
      if (matched != nullptr) break;
    }
    if (matched == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument ", arg));
    }
    if (!value) {
      if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      value = argv[++i];
    }
    if (matched->field == nullptr) continue;
    std::optional<std::string>& field = request.*(matched->field);
    if (field) {
      return absl::InvalidArgumentError(absl::StrCat(matched->name, " given twice"));
    }
    // Wireshark may pass an argument the user left empty.
    if (!value->empty() || matched->field == &ExtcapRequest::capture_filter) field = *value;
  }
  if (!action) {
    // The validation call is the only one without an action flag.
    if (!request.capture_filter) return absl::InvalidArgumentError("nothing to do");
    action = Action::kValidateFilter;
  }
  request.action = *action;
  const bool needs_interface =
      request.action == Action::kDlts || request.action == Action::kConfig ||
      request.action == Action::kCapture || request.action == Action::kValidateFilter;
  if (needs_interface && !request.interface) {
    return absl::InvalidArgumentError("--extcap-interface IF is required");
  }
  if (request.action == Action::kCapture && !request.fifo) {
    return absl::InvalidArgumentError("--capture needs --fifo PATH");
  }
  return request;
}

}  // namespace tapshim::extcap
