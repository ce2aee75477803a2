// tap2pcap: Envoy socket tap traces to pcapng or pcap (see command_line.h).
// Every failure is one line on stderr, and exit status 1 (2 for a mistake
// on the command line).
#include <google/protobuf/stubs/logging.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "tools/tap2pcap/command_line.h"
#include "tools/tap2pcap/converter.h"
#include "tools/tap2pcap/live_converter.h"
#include "tools/tap2pcap/progress.h"

int main(int argc, char** argv) {
  using namespace tapshim::tap2pcap;
  // libprotobuf logs parse problems on its own; our single line says it all.
  google::protobuf::SetLogHandler(nullptr);
  absl::StatusOr<Options> options = parseCommandLine(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "tap2pcap: %s (tap2pcap --help for usage)\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (options->follow) {
    absl::Status status = follow(*options);
    if (!status.ok()) {
      std::fprintf(stderr, "tap2pcap: %s\n", std::string(status.message()).c_str());
      return 1;
    }
    return 0;
  }
  Progress progress(isatty(STDERR_FILENO) != 0);
  absl::Status status = convert(*options, &progress);
  progress.finish();
  if (!status.ok()) {
    std::fprintf(stderr, "tap2pcap: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
