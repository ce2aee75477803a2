#include "tools/extcap/capture_command.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/extcap/capture_filter.h"
#include "tools/extcap/shell_words.h"

namespace tapshim::extcap {
namespace {

bool isDecimal(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// --match (with the capture filter) and the limits, as the launcher and
// `tapshim attach` take them.
absl::Status addTapFlags(const ExtcapRequest& request, std::vector<std::string>* argv) {
  const std::optional<std::string> match = combinedMatch(request.match, request.capture_filter);
  if (match) {
    if (std::optional<std::string> problem = matchExpressionProblem(*match)) {
      return absl::InvalidArgumentError(*problem);
    }
    argv->insert(argv->end(), {"--match", *match});
  }
  for (auto [flag, value] : {std::pair{"--max-rx-bytes", &request.max_rx_bytes},
                             std::pair{"--max-tx-bytes", &request.max_tx_bytes}}) {
    if (!*value) continue;
    if (!isDecimal(**value)) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": '", **value, "' is not a number"));
    }
    argv->insert(argv->end(), {flag, **value});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> captureCommand(const ExtcapRequest& request,
                                                        Interface interface,
                                                        const ToolPaths& tools) {
  std::vector<std::string> argv;
  switch (interface) {
    case Interface::kRun: {
      if (!request.command) return absl::InvalidArgumentError("tapshim-run needs --command");
      absl::StatusOr<std::vector<std::string>> words = splitShellWords(*request.command);
      if (!words.ok()) return words.status();
      argv = {tools.tapshim, "-w", *request.fifo};
      absl::Status flags = addTapFlags(request, &argv);
      if (!flags.ok()) return flags;
      argv.push_back("--");
      argv.insert(argv.end(), words->begin(), words->end());
      return argv;
    }
    case Interface::kFollow: {
      if (!request.directory) return absl::InvalidArgumentError("tapshim-follow needs --directory");
      if (request.capture_filter &&
          request.capture_filter->find_first_not_of(" \t\n") != std::string::npos) {
        return absl::InvalidArgumentError(
            "tapshim-follow: a capture filter cannot select among traces already written");
      }
      struct stat info;
      if (stat(request.directory->c_str(), &info) != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--directory ", *request.directory, ": ", std::strerror(errno)));
      }
      if (!S_ISDIR(info.st_mode)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--directory ", *request.directory, ": not a directory"));
      }
      return std::vector<std::string>{tools.tap2pcap, "--follow", *request.directory, "-o",
                                      *request.fifo};
    }
    case Interface::kAttach: {
      if (!request.pid) return absl::InvalidArgumentError("tapshim-attach needs --pid");
      int pid = 0;
      if (!isDecimal(*request.pid) || !absl::SimpleAtoi(*request.pid, &pid) || pid <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--pid: '", *request.pid, "' is not a process ID"));
      }
      argv = {tools.tapshim, "attach", *request.pid};
      absl::Status flags = addTapFlags(request, &argv);
      if (!flags.ok()) return flags;
      argv.insert(argv.end(), {"-w", *request.fifo});
      return argv;
    }
  }
  return absl::InternalError("unknown interface");
}

}  // namespace tapshim::extcap
