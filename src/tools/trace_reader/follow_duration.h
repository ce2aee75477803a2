// The --duration flag of a follow, shared by `tap2pcap --follow` and
// `tapshim-view --follow`: how long to follow before ending as at SIGTERM.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace tapshim::tap2pcap {

// Whether `arg` (argv[*index]) is "--duration" or "--duration=SECONDS".
bool isDurationFlag(std::string_view arg);

// Reads the flag at argv[*index] into *seconds (a positive number, at most
// 1e9), moving *index past a value given as the next argument.
absl::Status parseDuration(int argc, const char* const* argv, int* index, double* seconds);

}  // namespace tapshim::tap2pcap
