// tapshim-view: a summary of each connection in tap traces, for a terminal
// or a script (see viewer_options.h). Files that are not traces are named
// on stderr, one line each; the others are still shown and the exit status
// is 1. A mistake on the command line: one line and exit 2.
#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tools/viewer/follow_view.h"
#include "tools/viewer/summary_printer.h"
#include "tools/viewer/trace_summary.h"
#include "tools/viewer/viewer_options.h"

#ifndef TAPSHIM_VERSION
#define TAPSHIM_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace tapshim::view;
  // libprotobuf logs parse problems on its own; our single line says it all.
  google::protobuf::SetLogHandler(nullptr);
  absl::StatusOr<ViewerOptions> options = parseViewerCommandLine(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "tapshim-view: %s (tapshim-view --help for usage)\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(kViewerUsage, stdout);
    return 0;
  }
  if (options->version) {
    std::printf("tapshim-view %s\n", TAPSHIM_VERSION);
    return 0;
  }
  if (options->follow) return followTraces(*options);
  bool failed = false;
  TraceCollector collector(options->events);
  size_t input = 0;
  for (const std::string& argument : options->inputs) {
    absl::StatusOr<std::vector<std::string>> files = expandInput(argument);
    if (!files.ok()) {
      std::fprintf(stderr, "tapshim-view: %s\n", std::string(files.status().message()).c_str());
      failed = true;
      continue;
    }
    for (const std::string& file : *files) {
      absl::Status status = collector.addFile(input++, file);
      if (!status.ok()) {
        std::fprintf(stderr, "tapshim-view: %s: %s\n", file.c_str(),
                     std::string(status.message()).c_str());
        failed = true;
      }
    }
  }
  for (const TraceView& trace : collector.takeSorted()) {
    if (options->json) {
      printJson(trace, options->events, stdout);
    } else {
      printText(trace, options->events, stdout);
    }
  }
  return failed ? 1 : 0;
}
