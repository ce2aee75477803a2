#include "tools/viewer/follow_view.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "tools/trace_reader/trace_follower.h"
#include "tools/viewer/event_line_printer.h"

namespace tapshim::view {

int followTraces(const ViewerOptions& options) {
  // The signals that end the view are read between looks at the files, so
  // the last look still happens and no line is cut.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, signal_number);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  const int stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (stop_fd < 0) {
    std::fprintf(stderr, "tapshim-view: cannot watch for SIGINT and SIGTERM (signalfd)\n");
    return 1;
  }
  EventLinePrinter printer(stdout);
  tap2pcap::TraceFollower follower(tap2pcap::ConnectionNumbering::kDetect, &printer,
                                   [](const std::string& line) {
                                     std::fprintf(stderr, "tapshim-view: %s\n", line.c_str());
                                     std::fflush(stderr);
                                   });
  size_t followed = 0;
  for (const std::string& input : options.inputs) followed += follower.addInput(input) ? 1 : 0;
  if (followed == 0) {
    std::fprintf(stderr, "tapshim-view: no input can be followed\n");
    close(stop_fd);
    return 1;
  }
  tap2pcap::TraceFollower::Deadline deadline;
  if (options.duration_seconds > 0) {
    deadline = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(options.duration_seconds));
  }
  follower.run(stop_fd, deadline);
  close(stop_fd);
  return 0;
}

}  // namespace tapshim::view
