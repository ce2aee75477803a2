// tapshim-view --follow: the trace reader's follower (trace_follower.h)
// feeding an EventLinePrinter on stdout, until SIGINT, SIGTERM, SIGHUP or
// --duration; then one last look at the files.
#pragma once

#include "tools/viewer/viewer_options.h"

namespace tapshim::view {

// @return the exit status: 0, or 1 if no input can be followed (each
//         problem is said on stderr as it comes; the other inputs go on).
int followTraces(const ViewerOptions& options);

}  // namespace tapshim::view
