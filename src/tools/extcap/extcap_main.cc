// tapshim-extcap: Wireshark's extcap interfaces for tapshim (see
// extcap_interfaces.h for the three interfaces, extcap_command_line.h for
// the protocol's flags). Wireshark runs it from its extcap directory: once
// to list interfaces, once per interface for its link type and dialog, to
// check a capture filter, and to capture into a FIFO until it sends
// SIGTERM. The capture itself is done by tapshim and tap2pcap, found
// beside this executable or in the installation's bindir.
#include <cstdio>
#include <string>

#include "tools/extcap/capture_command.h"
#include "tools/extcap/capture_filter.h"
#include "tools/extcap/capture_supervisor.h"
#include "tools/extcap/extcap_command_line.h"
#include "tools/extcap/extcap_interfaces.h"
#include "tools/extcap/user_install.h"
#include "tools/launcher/compiled_install_layout.h"
#include "tools/launcher/tool_locator.h"

#ifndef TAPSHIM_VERSION
#define TAPSHIM_VERSION "unknown"
#endif

namespace {

using namespace tapshim::extcap;
using Action = ExtcapRequest::Action;

int fail(const std::string& message, int status) {
  std::fprintf(stderr, "tapshim-extcap: %s\n", message.c_str());
  return status;
}

int capture(const ExtcapRequest& request, Interface interface) {
  const tapshim::launcher::InstallLayout layout = tapshim::launcher::compiledInstallLayout();
  const std::string self = tapshim::launcher::selfExecutablePath();
  ToolPaths tools;
  const char* needed = interface == Interface::kFollow ? "tap2pcap" : "tapshim";
  absl::StatusOr<std::string> tool = tapshim::launcher::findTool(needed, self, layout);
  if (!tool.ok()) return fail(std::string(tool.status().message()), 1);
  (interface == Interface::kFollow ? tools.tap2pcap : tools.tapshim) = *tool;

  absl::StatusOr<std::vector<std::string>> argv = captureCommand(request, interface, tools);
  if (!argv.ok()) return fail(std::string(argv.status().message()), 1);
  SupervisedCapture supervised;
  supervised.argv = *std::move(argv);
  supervised.sort_output = interface != Interface::kFollow;
  supervised.what = interface == Interface::kRun      ? "the program (under tapshim -w)"
                    : interface == Interface::kAttach ? "tapshim attach"
                                                      : "tap2pcap --follow";
  supervised.program_output = request.program_output;
  supervised.fifo = *request.fifo;
  return superviseCapture(supervised);
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<ExtcapRequest> request = parseExtcapCommandLine(argc, argv);
  if (!request.ok()) {
    return fail(std::string(request.status().message()) + " (tapshim-extcap --help for usage)", 2);
  }
  Interface interface = Interface::kRun;
  if (request->interface && !interfaceNamed(*request->interface, &interface)) {
    return fail("--extcap-interface " + *request->interface +
                    ": not one of tapshim-run, tapshim-follow, tapshim-attach",
                2);
  }
  switch (request->action) {
    case Action::kHelp:
      std::fputs(kExtcapUsage, stdout);
      return 0;
    case Action::kVersion:
      std::printf("tapshim-extcap %s\n", TAPSHIM_VERSION);
      return 0;
    case Action::kInterfaces:
      std::fputs(interfacesText(TAPSHIM_VERSION).c_str(), stdout);
      return 0;
    case Action::kDlts:
      std::fputs(dltsText(interface).c_str(), stdout);
      return 0;
    case Action::kConfig:
      std::fputs(configText(interface).c_str(), stdout);
      return 0;
    case Action::kValidateFilter: {
      // Wireshark's protocol: nothing on stdout for a valid filter, else
      // the problem on the first line.
      std::optional<std::string> problem =
          takesMatch(interface)
              ? matchExpressionProblem(*request->capture_filter)
              : (request->capture_filter->find_first_not_of(" \t\n") == std::string::npos
                     ? std::nullopt
                     : std::optional<std::string>("tapshim-follow takes no capture filter: its "
                                                  "traces are already written"));
      if (problem) std::printf("%s\n", problem->c_str());
      return 0;
    }
    case Action::kCapture:
      return capture(*request, interface);
    case Action::kInstallUser: {
      absl::StatusOr<std::string> directory = userExtcapDirectory();
      if (!directory.ok()) return fail(std::string(directory.status().message()), 1);
      absl::StatusOr<std::string> done =
          installUserLink(*directory, tapshim::launcher::selfExecutablePath());
      if (!done.ok()) return fail(std::string(done.status().message()), 1);
      std::printf("linked %s\n", done->c_str());
      // Said here because the link alone would seem to do nothing there.
      std::printf(
          "(Wireshark 4.2 and later look there; 4.0 and older only in their own extcap "
          "directory,\n or in $WIRESHARK_EXTCAP_DIR instead of it, which they ignore for "
          "root)\n");
      return 0;
    }
  }
  return 2;
}
