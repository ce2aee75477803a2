#include "tap_core/tapper/buffered_tapper.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "tap_core/base/diagnostics.h"
#include "tap_core/encoder/message_parts.h"
#include "tap_core/tapper/fit_to_room.h"

namespace tapshim::core {
namespace {

size_t index(Direction direction) { return static_cast<size_t>(direction); }

EventKind kindOf(Direction direction) {
  return direction == Direction::kRead ? EventKind::kRead : EventKind::kWrite;
}

void reportBudgetSpent(const BufferedBudget& budget) {
  char limit[24];
  const auto end = std::to_chars(limit, limit + sizeof(limit), budget.limit()).ptr;
  reportOnce(Problem::kBufferedTotal,
             {"buffered traces hold TAP_MAX_BUFFERED_TOTAL_BYTES (",
              std::string_view(limit, static_cast<size_t>(end - limit)),
              " bytes): new events are cut (read_truncated/write_truncated) until traces are "
              "written"});
}

}  // namespace

BufferedTapper::BufferedTapper(const TapperContext& context, uint64_t trace_id)
    : context_(context), trace_id_(trace_id) {}

void BufferedTapper::onRead(const IoSlices& data) { record(Direction::kRead, data); }

void BufferedTapper::onWrite(const IoSlices& data) { record(Direction::kWrite, data); }

int64_t BufferedTapper::nextTimestamp() {
  // Wall-clock time can step back; a trace's events never do.
  last_timestamp_ = std::max(last_timestamp_, context_.clock->nowNanos());
  return last_timestamp_;
}

void BufferedTapper::record(Direction direction, const IoSlices& data) {
  const size_t i = index(direction);
  // Envoy drops every event of a direction once its budget has run out.
  if (closed_ || truncated_[i]) return;
  const uint64_t limit = direction == Direction::kRead ? context_.max_buffered_rx_bytes
                                                       : context_.max_buffered_tx_bytes;
  const uint64_t allowed = std::min<uint64_t>(limit - used_[i], data.total());
  // The process's budget may grant less: the event is then cut just as at
  // the connection's own limit, and the direction stops.
  BufferedBudget* budget = context_.buffered_budget;
  const uint64_t granted = budget != nullptr ? budget->take(allowed) : allowed;
  if (granted < allowed) reportBudgetSpent(*budget);
  const size_t kept = static_cast<size_t>(granted);
  // kept < total also covers the exact-budget edge: the event after the
  // budget is used up exactly is recorded empty and truncated.
  const bool cut = kept < data.total();
  if (!events_.append(nextTimestamp(), kindOf(direction), data, kept, cut, false)) {
    if (budget != nullptr) budget->give(granted);
    reportOnce(Problem::kOutOfMemory, {"out of memory for recorded bytes; traces are cut"});
    truncated_[i] = true;
    return;
  }
  if (budget != nullptr) charged_ += granted;
  used_[i] += kept;
  if (cut) truncated_[i] = true;
}

void BufferedTapper::onGap(Direction direction) {
  const size_t i = index(direction);
  if (closed_ || truncated_[i]) return;  // already marked as cut
  iovec none{nullptr, 0};
  if (!events_.append(nextTimestamp(), kindOf(direction), IoSlices(&none, 1, 0), 0, true, false)) {
    truncated_[i] = true;
  }
}

void BufferedTapper::onHalfClose() {
  // Envoy sets end_stream on the write that carries the half-close; here
  // that is the last write before shutdown(SHUT_WR), if it is the newest
  // event and every write was kept.
  if (!closed_ && !truncated_[index(Direction::kWrite)]) events_.markLastWriteEndStream();
}

void BufferedTapper::onClose(const ConnectionInfo& connection) {
  if (closed_) return;
  closed_ = true;
  submit(connection);
  events_.clear();
  releaseBudget();
}

void BufferedTapper::releaseBudget() {
  if (context_.buffered_budget != nullptr) context_.buffered_budget->give(charged_);
  charged_ = 0;
}

void BufferedTapper::onTlsStarted() {
  bool records = false;
  bool first = true;
  events_.forEach([&](const EventView& event) {
    if (!first) return;
    first = false;
    records = event.data.size() >= 3 && event.data[0] == 0x16 && event.data[1] == 0x03;
  });
  if (!records) return;  // plaintext first (STARTTLS): keep it
  events_.clear();
  releaseBudget();
  used_[0] = used_[1] = 0;
  truncated_[0] = truncated_[1] = false;
}

void BufferedTapper::onHandedOver(const ConnectionInfo& connection) {
  if (!closed_ && events_.empty()) {
    closed_ = true;
    return;
  }
  onClose(connection);
}

void BufferedTapper::submit(const ConnectionInfo& connection) {
  uint64_t trace_id = trace_id_;
  const int token = context_.sink->open(&trace_id, context_.encoder->extension());
  if (token < 0) return;
  trace_id_ = trace_id;
  BufferedTraceData trace;
  trace.trace_id = trace_id_;
  trace.connection = &connection;
  trace.events = &events_;
  trace.read_truncated = truncated_[index(Direction::kRead)];
  trace.write_truncated = truncated_[index(Direction::kWrite)];
  trace.process = context_.process;
  // With raised limits the events' data is written from events_, not
  // copied into the message first.
  ByteBuffer scratch;
  MessageParts parts;
  const bool encoded = context_.encoder->encodeBufferedParts(trace, &scratch, &parts);
  if (!encoded) reportOnce(Problem::kOutOfMemory, {"out of memory encoding a trace; it is lost"});
  // Under a file size limit the trace may be cut to fit (the sink says so).
  if (encoded &&
      fitToRoom(*context_.sink, token, *context_.encoder, &events_, &trace, &scratch, &parts)) {
    if (context_.sink->writeParts(token, parts.data(), parts.count())) {
      context_.sink->close(token);
      return;
    }
  } else {
    context_.sink->close(token);
  }
  // Not written whole (the sink gave the token up, and said why): the file
  // is left empty, and is removed.
  context_.sink->discard(trace_id_, context_.encoder->extension());
}

}  // namespace tapshim::core
