// The child process behind each interface's capture:
//   tapshim-run     tapshim -w FIFO [--match EXPR] [limits] -- ARGV
//   tapshim-follow  tap2pcap --follow DIR -o FIFO
//   tapshim-attach  tapshim attach PID [--match EXPR] [limits] -w FIFO
// EXPR is --match and the capture filter together (capture_filter.h).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/extcap/extcap_command_line.h"
#include "tools/extcap/extcap_interfaces.h"

namespace tapshim::extcap {

// Where the project's tools are (tool_locator.h finds them).
struct ToolPaths {
  std::string tapshim;
  std::string tap2pcap;
};

// @return the child's argv, or an error (one line) for an argument the
//         interface needs that is missing or wrong: no --command or one
//         that does not split, no --directory or not a directory, a --pid
//         that is not a process number, a limit that is not a number, an
//         expression the shim would refuse, or a capture filter on
//         tapshim-follow (its traces are already written).
absl::StatusOr<std::vector<std::string>> captureCommand(const ExtcapRequest& request,
                                                        Interface interface,
                                                        const ToolPaths& tools);

}  // namespace tapshim::extcap
