// tap2pcap's command line:
//   tap2pcap [--envoy-compat] [--old-connection-numbering] IN OUT
//   tap2pcap [--envoy-compat] [--old-connection-numbering] -o OUT IN...
//   tap2pcap --follow [--duration SECONDS] -o OUT INPUT...
// Flags are spelled with dashes; "--" ends them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/capture/capture_writer.h"

namespace tapshim::tap2pcap {

struct Options {
  bool envoy_compat = false;
  bool old_connection_numbering = false;
  bool help = false;
  // --follow: a live capture of traces while they are written (INPUT may
  // be a directory; OUT a file, a FIFO or "-" for stdout).
  bool follow = false;
  // --duration: how long to follow, in seconds; 0 for until a signal.
  double duration_seconds = 0;
  std::vector<std::string> inputs;
  std::string output;
  CaptureFormat output_format = CaptureFormat::kPcapng;
};

// @return the options, or an error to print with the usage.
absl::StatusOr<Options> parseCommandLine(int argc, const char* const* argv);

// ".pcap" is classic pcap; ".pcapng" and a name without extension pcapng;
// any other extension is an error (a typo should not silently pick one).
absl::StatusOr<CaptureFormat> captureFormatForPath(std::string_view path);

extern const char kUsage[];

}  // namespace tapshim::tap2pcap
