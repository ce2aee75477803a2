// Finds the project's other executables (tap2pcap, tapshim) for a tool that
// runs them as child processes: beside the running tool in the build tree
// (build/src/tools/ holds every executable) and in an installation, where
// they all sit in bindir; else in the configured bindir, for a tool
// installed elsewhere (tapshim-extcap in Wireshark's extcap directory).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/launcher/library_locator.h"

namespace tapshim::launcher {

// The places to look, best first, for `name` wanted by the executable at
// `self_path` (the resolved /proc/self/exe):
//   <dir of self_path>/<name>
//   <prefix>/<bindir>/<name>   (bindir as meson has it, relative or not)
std::vector<std::string> toolCandidates(const std::string& name, const std::string& self_path,
                                        const InstallLayout& layout);

// The first candidate that is an executable regular file.
// @return an error (one line) naming every place looked in.
absl::StatusOr<std::string> findTool(const std::string& name, const std::string& self_path,
                                     const InstallLayout& layout);

// The resolved /proc/self/exe, or "" if it cannot be read.
std::string selfExecutablePath();

}  // namespace tapshim::launcher
