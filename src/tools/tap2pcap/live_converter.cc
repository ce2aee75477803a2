#include "tools/tap2pcap/live_converter.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "tools/capture/capture_writer.h"
#include "tools/tap2pcap/connection_comment.h"
#include "tools/tap2pcap/conversation.h"
#include "tools/tap2pcap/endpoint_assigner.h"
#include "tools/tap2pcap/live_output.h"
#include "tools/trace_reader/trace_events.h"
#include "tools/trace_reader/trace_follower.h"
#include "tools/trace_reader/trace_index.h"

namespace tapshim::tap2pcap {
namespace {

using envoy::data::tap::v3::TraceWrapper;

int64_t wallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void report(const std::string& line) {
  std::fprintf(stderr, "tap2pcap: %s\n", line.c_str());
  std::fflush(stderr);
}

class LiveConverter : public TraceFollower::Listener {
 public:
  explicit LiveConverter(const Options& options)
      : style_(options.envoy_compat ? PacketStyle::kEnvoyCompat : PacketStyle::kTcp),
        format_(options.output_format) {}

  // Before the follower runs: the inputs are checked before OUT is opened.
  void setOutput(LiveOutput* output) { output_ = output; }

  // TraceFollower::Listener
  void onRecord(size_t file, const std::string& path, const TraceWrapper& wrapper) override {
    if (wrapper.has_socket_buffered_trace()) {
      // A buffered trace is whole when it appears: all of it at once.
      LiveTrace trace;
      learnFromRecord(wrapper, &trace.summary);
      play(trace, path, eventsOf(wrapper));
      if (!trace.finished) end(trace, trace.last_time_ns);
      return;
    }
    LiveTrace& trace = streamed_[{file, traceIdOf(wrapper)}];
    if (trace.finished) {
      if (!eventsOf(wrapper).empty() && !said_events_after_close_) {
        said_events_after_close_ = true;
        report(absl::StrCat(path, ": trace ", traceIdOf(wrapper),
                            " has events after its closed event; they are not in the capture"));
      }
      return;
    }
    learnFromRecord(wrapper, &trace.summary);
    play(trace, path, eventsOf(wrapper));
  }

  bool onLookEnd() override {
    writer();  // the file header goes out at once: a reader waits for it
    const absl::Status flushed = output_->flush();
    if (flushed.ok()) return true;
    if (!absl::IsCancelled(flushed)) status_ = flushed;
    return false;
  }

  const absl::Status& status() const { return status_; }

 private:
  // Made at the first packet or look, so that a run that follows nothing
  // writes nothing.
  CaptureWriter* writer() {
    if (!writer_) writer_ = makeCaptureWriter(format_, output_->stream());
    return writer_.get();
  }

  struct LiveTrace {
    TraceSummary summary;
    std::unique_ptr<Conversation> conversation;
    int64_t last_time_ns = 0;
    bool finished = false;
  };

  void play(LiveTrace& trace, const std::string& path, std::vector<TapEvent> events) {
    for (TapEvent& event : events) {
      if (!trace.conversation) {
        // The connection's first event: what its first segment said of the
        // addresses and the process is known by now.
        trace.last_time_ns = event.has_time ? event.time_ns : wallClockNs();
        const ConversationEndpoints endpoints = endpoints_.assign(trace.summary);
        trace.conversation = makeConversation(
            style_, endpoints, connectionComment(trace.summary, path, endpoints, /*live=*/true),
            writer(),
            trace.summary.joined_late ? ConversationStart::kJoinedLate
                                      : ConversationStart::kHandshake);
      }
      // As the whole conversion's cursor: times never go backwards.
      if (!event.has_time || event.time_ns < trace.last_time_ns) event.time_ns = trace.last_time_ns;
      trace.last_time_ns = event.time_ns;
      trace.conversation->onEvent(event);
      if (event.kind == TapEvent::Kind::kClosed) {
        end(trace, event.time_ns);
        return;
      }
    }
  }

  void end(LiveTrace& trace, int64_t time_ns) {
    if (!trace.conversation) {
      // A trace without any event (a buffered connection that carried
      // nothing) still shows its handshake and FIN, as when converted whole.
      const ConversationEndpoints endpoints = endpoints_.assign(trace.summary);
      trace.conversation = makeConversation(
          style_, endpoints, connectionComment(trace.summary, "", endpoints, true), writer());
      time_ns = wallClockNs();
    }
    trace.conversation->finish(time_ns);
    trace.conversation.reset();
    trace.finished = true;
  }

  const PacketStyle style_;
  const CaptureFormat format_;
  LiveOutput* output_ = nullptr;
  std::unique_ptr<CaptureWriter> writer_;
  EndpointAssigner endpoints_;
  std::map<std::pair<size_t, uint64_t>, LiveTrace> streamed_;  // (file, trace id)
  bool said_events_after_close_ = false;
  absl::Status status_;
};

}  // namespace

absl::Status follow(const Options& options) {
  // A reader that goes away is seen as EPIPE, not as a signal that kills.
  ::signal(SIGPIPE, SIG_IGN);
  LiveConverter converter(options);
  TraceFollower follower(
      options.old_connection_numbering ? ConnectionNumbering::kOld : ConnectionNumbering::kDetect,
      &converter, report);
  size_t followed = 0;
  for (const std::string& input : options.inputs) followed += follower.addInput(input) ? 1 : 0;
  if (followed == 0) return absl::NotFoundError("no input can be followed");
  // The signals that end the capture are read from a signalfd, between
  // looks, so that they never cut a block in the middle.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, signal_number);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  const int stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (stop_fd < 0) return absl::InternalError("cannot watch for SIGINT and SIGTERM (signalfd)");
  TraceFollower::Deadline deadline;
  if (options.duration_seconds > 0) {
    deadline = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(options.duration_seconds));
  }
  absl::StatusOr<std::unique_ptr<LiveOutput>> output =
      LiveOutput::open(options.output, stop_fd, deadline);
  if (!output.ok()) {
    close(stop_fd);
    if (!absl::IsCancelled(output.status())) return output.status();
    // Stopped while the FIFO waited for a reader: the end, but said.
    report(absl::StrCat(options.output, ": no reader opened it; nothing was written"));
    return absl::OkStatus();
  }
  converter.setOutput(output->get());
  follower.run(stop_fd, deadline);
  close(stop_fd);
  return converter.status();
}

}  // namespace tapshim::tap2pcap
