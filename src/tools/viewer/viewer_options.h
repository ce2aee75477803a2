// tapshim-view's command line:
//   tapshim-view [--events] [--json] FILE|DIR...
//   tapshim-view --follow [--duration SECONDS] FILE|DIR...
// Flags are spelled with dashes; "--" ends them.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tapshim::view {

struct ViewerOptions {
  bool events = false;
  bool json = false;
  bool help = false;
  bool version = false;
  // --follow: one line per event while the traces are written.
  bool follow = false;
  double duration_seconds = 0;  // --duration; 0: until a signal
  std::vector<std::string> inputs;
};

// @return the options, or an error (one line) to print with a hint.
absl::StatusOr<ViewerOptions> parseViewerCommandLine(int argc, const char* const* argv);

// The trace files an input names: itself, or for a directory the files in
// it (not below) whose extension is a trace format's, sorted by name.
// @return an error for a directory that cannot be read or holds no trace.
absl::StatusOr<std::vector<std::string>> expandInput(const std::string& input);

extern const char kViewerUsage[];

}  // namespace tapshim::view
