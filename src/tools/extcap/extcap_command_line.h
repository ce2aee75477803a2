// tapshim-extcap's command line: the extcap protocol's flags, as Wireshark
// passes them (doc/extcap.adoc), each interface's own arguments, and the
// tool's own --install-user.
//
//   --extcap-interfaces [--extcap-version=V]
//   --extcap-interface IF --extcap-dlts
//   --extcap-interface IF --extcap-config
//   --extcap-interface IF --extcap-capture-filter EXPR      (validation)
//   --capture --extcap-interface IF --fifo PATH [--extcap-capture-filter EXPR]
//       [--command C] [--program-output FILE] [--directory D] [--pid N]
//       [--match EXPR] [--max-rx-bytes N] [--max-tx-bytes N]
//   --install-user | --help | --version
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace tapshim::extcap {

struct ExtcapRequest {
  enum class Action {
    kInterfaces,
    kDlts,
    kConfig,
    kCapture,
    kValidateFilter,
    kInstallUser,
    kHelp,
    kVersion,
  };
  Action action = Action::kHelp;
  std::optional<std::string> interface;       // --extcap-interface
  std::optional<std::string> fifo;            // --fifo
  std::optional<std::string> capture_filter;  // --extcap-capture-filter
  // The interfaces' arguments; Wireshark leaves out those left empty, and
  // an empty one given anyway counts as not given.
  std::optional<std::string> command;         // tapshim-run
  std::optional<std::string> program_output;  // tapshim-run
  std::optional<std::string> directory;       // tapshim-follow
  std::optional<std::string> pid;             // tapshim-attach
  std::optional<std::string> match;
  std::optional<std::string> max_rx_bytes;
  std::optional<std::string> max_tx_bytes;
};

// @return the request, or an error (one line, without the program name)
//         for an unknown flag, a missing value, no action, or an action
//         without the interface or FIFO it needs. Flags take their value
//         as the next argument or after '='.
absl::StatusOr<ExtcapRequest> parseExtcapCommandLine(int argc, const char* const* argv);

extern const char kExtcapUsage[];

}  // namespace tapshim::extcap
