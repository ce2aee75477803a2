#include "tools/tap2pcap/converter.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <queue>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/tap2pcap/connection_comment.h"
#include "tools/tap2pcap/conversation.h"
#include "tools/tap2pcap/endpoint_assigner.h"
#include "tools/tap2pcap/output_file.h"
#include "tools/trace_reader/record_source.h"
#include "tools/trace_reader/trace_cursor.h"
#include "tools/trace_reader/trace_index.h"

namespace tapshim::tap2pcap {
namespace {

struct Input {
  std::string path;
  TraceFormat format;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

absl::StatusOr<Input> inspectInput(const std::string& path) {
  Input input;
  input.path = path;
  const std::optional<TraceFormat> format = traceFormatForPath(path);
  if (!format) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": unknown trace extension (expected .pb, .pb_length_delimited, .pb_text or .json)"));
  }
  input.format = *format;
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  input.size = static_cast<uint64_t>(info.st_size);
  input.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
  return input;
}

absl::Status indexInputs(const std::vector<Input>& inputs, ConnectionNumbering numbering,
                         Progress* progress, std::vector<TraceSummary>* traces) {
  uint64_t total = 0;
  for (const Input& input : inputs) total += input.size;
  uint64_t done = 0;
  TraceIndex index(numbering);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::ifstream in(inputs[i].path, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat(inputs[i].path, ": cannot open: ", std::strerror(errno)));
    }
    absl::Status status = index.addInput(i, in, inputs[i].format, [&](uint64_t scanned) {
      progress->update("reading", done + scanned, total);
    });
    if (!status.ok())
      return absl::Status(status.code(), absl::StrCat(inputs[i].path, ": ", status.message()));
    done += inputs[i].size;
  }
  *traces = index.takeTraces();
  // A trace without any timestamp (a buffered trace of a connection that
  // carried nothing) is shown when its file was written, at its close.
  for (TraceSummary& trace : *traces) {
    if (!trace.has_time) trace.first_ns = trace.last_ns = inputs[trace.input].mtime_ns;
  }
  return absl::OkStatus();
}

// One trace being written (indexed by its position in start order, which
// also breaks ties between equal times): its events and their packets.
struct OpenTrace {
  size_t trace;  // index into the traces
  std::unique_ptr<TraceCursor> cursor;
  std::unique_ptr<Conversation> conversation;
  int64_t last_time_ns;
};

class Merger {
 public:
  Merger(const std::vector<Input>& inputs, const std::vector<TraceSummary>& traces,
         const Options& options, CaptureWriter* writer, RecordSource* source, Progress* progress)
      : inputs_(inputs),
        traces_(traces),
        options_(options),
        writer_(writer),
        source_(source),
        progress_(progress) {
    for (const TraceSummary& trace : traces) total_events_ += trace.events;
  }

  // Writes the packets of every trace, in time order.
  absl::Status run() {
    std::vector<size_t> start_order(traces_.size());
    for (size_t i = 0; i < start_order.size(); ++i) start_order[i] = i;
    std::stable_sort(start_order.begin(), start_order.end(), [this](size_t a, size_t b) {
      return traces_[a].first_ns < traces_[b].first_ns;
    });
    open_.resize(traces_.size());
    size_t next_to_open = 0;
    while (true) {
      while (
          next_to_open < start_order.size() &&
          (queue_.empty() || traces_[start_order[next_to_open]].first_ns <= queue_.top().first)) {
        absl::Status opened = open(next_to_open, start_order[next_to_open]);
        if (!opened.ok()) return opened;
        ++next_to_open;
      }
      if (queue_.empty()) break;
      const size_t order = queue_.top().second;
      queue_.pop();
      absl::Status stepped = step(order);
      if (!stepped.ok()) return stepped;
    }
    return absl::OkStatus();
  }

 private:
  using QueueEntry = std::pair<int64_t, size_t>;  // next event time, order

  absl::Status open(size_t order, size_t trace_index) {
    const TraceSummary& trace = traces_[trace_index];
    const ConversationEndpoints endpoints = endpoints_.assign(trace);
    const PacketStyle style = options_.envoy_compat ? PacketStyle::kEnvoyCompat : PacketStyle::kTcp;
    OpenTrace& open = open_[order];
    open.trace = trace_index;
    open.conversation = makeConversation(
        style, endpoints, connectionComment(trace, inputs_[trace.input].path, endpoints), writer_,
        trace.joined_late ? ConversationStart::kJoinedLate : ConversationStart::kHandshake);
    open.cursor =
        std::make_unique<TraceCursor>(trace, inputs_[trace.input].format, numbering(), source_);
    open.last_time_ns = trace.first_ns;
    return advance(order);
  }

  absl::Status step(size_t order) {
    OpenTrace& open = open_[order];
    const TapEvent& event = open.cursor->current();
    open.conversation->onEvent(event);
    open.last_time_ns = event.time_ns;
    progress_->update("writing", ++events_done_, total_events_);
    return advance(order);
  }

  // Moves the trace to its next event and queues it, or ends it.
  absl::Status advance(size_t order) {
    OpenTrace& open = open_[order];
    absl::Status status = open.cursor->advance();
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat(inputs_[traces_[open.trace].input].path,
                                       ": changed while it was converted: ", status.message()));
    }
    if (open.cursor->done()) {
      open.conversation->finish(open.last_time_ns);
      open.conversation.reset();
      open.cursor.reset();
      return absl::OkStatus();
    }
    queue_.emplace(open.cursor->current().time_ns, order);
    return absl::OkStatus();
  }

  ConnectionNumbering numbering() const {
    return options_.old_connection_numbering ? ConnectionNumbering::kOld
                                             : ConnectionNumbering::kDetect;
  }

  const std::vector<Input>& inputs_;
  const std::vector<TraceSummary>& traces_;
  const Options& options_;
  CaptureWriter* const writer_;
  RecordSource* const source_;
  Progress* const progress_;
  EndpointAssigner endpoints_;
  std::vector<OpenTrace> open_;
  std::priority_queue<QueueEntry, std::vector<QueueEntry>, std::greater<QueueEntry>> queue_;
  uint64_t total_events_ = 0;
  uint64_t events_done_ = 0;
};

}  // namespace

absl::Status convert(const Options& options, Progress* progress) {
  std::vector<Input> inputs;
  std::vector<std::string> paths;
  for (const std::string& path : options.inputs) {
    absl::StatusOr<Input> input = inspectInput(path);
    if (!input.ok()) return input.status();
    inputs.push_back(*input);
    paths.push_back(path);
  }
  const ConnectionNumbering numbering =
      options.old_connection_numbering ? ConnectionNumbering::kOld : ConnectionNumbering::kDetect;
  std::vector<TraceSummary> traces;
  absl::Status indexed = indexInputs(inputs, numbering, progress, &traces);
  if (!indexed.ok()) return indexed;

  absl::StatusOr<std::unique_ptr<OutputFile>> output = OutputFile::create(options.output);
  if (!output.ok()) return output.status();
  std::unique_ptr<CaptureWriter> writer =
      makeCaptureWriter(options.output_format, (*output)->stream());
  FileRecordSource source(paths);
  Merger merger(inputs, traces, options, writer.get(), &source, progress);
  absl::Status merged = merger.run();
  if (!merged.ok()) return merged;
  writer.reset();
  progress->finish();
  return (*output)->commit();
}

}  // namespace tapshim::tap2pcap
