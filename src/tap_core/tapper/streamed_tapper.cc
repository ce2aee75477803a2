#include "tap_core/tapper/streamed_tapper.h"

#include <algorithm>

#include "tap_core/base/diagnostics.h"

namespace tapshim::core {
namespace {

int64_t wholeSeconds(int64_t nanos) {
  return nanos >= 0 ? nanos / 1000000000 : (nanos - 999999999) / 1000000000;
}

}  // namespace

StreamedTapper::StreamedTapper(const TapperContext& context, uint64_t trace_id)
    : context_(context), trace_id_(trace_id) {}

StreamedTapper::~StreamedTapper() {
  if (token_ >= 0) context_.sink->close(token_);
}

int64_t StreamedTapper::nextTimestamp() {
  last_timestamp_ = std::max(last_timestamp_, context_.clock->nowNanos());
  return last_timestamp_;
}

void StreamedTapper::onEstablished(const ConnectionInfo& connection) {
  if (!started_ && !closed_) start(connection);
}

void StreamedTapper::start(const ConnectionInfo& connection) {
  started_ = true;
  connection_ = connection;
}

void StreamedTapper::writeConnectionOnce() {
  if (connection_written_) return;
  connection_written_ = true;
  SegmentData segment;
  segment.trace_id = trace_id_;
  segment.piece = SegmentData::Piece::kConnection;
  segment.connection = &connection_;
  segment.process = context_.process;
  submit(segment);
}

void StreamedTapper::onRead(const IoSlices& data) { record(EventKind::kRead, data, false); }

void StreamedTapper::onWrite(const IoSlices& data) { record(EventKind::kWrite, data, false); }

void StreamedTapper::onGap(Direction direction) {
  iovec none{nullptr, 0};
  record(direction == Direction::kRead ? EventKind::kRead : EventKind::kWrite,
         IoSlices(&none, 1, 0), true);
}

void StreamedTapper::record(EventKind kind, const IoSlices& data, bool gap) {
  if (closed_ || lost_ || !started_) return;
  const uint64_t seq = next_seq_;
  next_seq_ += data.total();
  // Batched events are whole (Envoy ignores the limits when batching); one
  // message per event is cut to the limit (per event, not cumulative).
  const uint64_t limit = batched()                  ? data.total()
                         : kind == EventKind::kRead ? context_.max_buffered_rx_bytes
                                                    : context_.max_buffered_tx_bytes;
  const size_t kept = static_cast<size_t>(std::min<uint64_t>(limit, data.total()));
  EventView event;
  event.timestamp_ns = nextTimestamp();
  event.kind = kind;
  event.truncated = gap || kept < data.total();
  event.seq_num = seq;
  ByteBuffer scratch;
  if (const uint8_t* bytes = data.contiguous(kept)) {
    event.data = std::string_view(reinterpret_cast<const char*>(bytes), kept);
  } else {
    uint8_t* copy = scratch.grow(kept);
    if (copy == nullptr) {
      reportOnce(Problem::kOutOfMemory, {"out of memory for a streamed event; it is cut"});
      event.truncated = true;
    } else {
      const size_t copied = data.copyPrefix(copy, kept);
      if (copied < kept) event.truncated = true;
      event.data = std::string_view(reinterpret_cast<const char*>(copy), copied);
    }
  }
  if (sniff_ == Sniff::kFirstEvent) {
    const std::string_view head = event.data.substr(0, 3);
    const bool tls_record = head.size() == 3 && head[0] == 0x16 && head[1] == 0x03 &&
                            static_cast<uint8_t>(head[2]) <= 0x04;
    sniff_ = tls_record ? Sniff::kHolding : Sniff::kDone;
  }
  if (sniff_ == Sniff::kHolding || provisional_) {
    if (held_.append(event)) {
      held_bytes_ += event.data.size();
      // Past the limit a TLS sniff gives up; a provisional connection is
      // decided by the engine (provisionalFull).
      if (held_bytes_ > kMaxHeldBytes && !provisional_) {
        // 64 KiB of TLS records and no hooked TLS call: TLS the shim
        // cannot decrypt. The trace says so from its first segment.
        connection_.undecrypted_tls = true;
        releaseHeld();  // this event included
      }
      return;
    }
    if (provisional_) {
      reportOnce(Problem::kOutOfMemory, {"out of memory holding a streamed event; it is cut"});
      return;
    }
    releaseHeld();  // no memory to hold more: send what is held, then this one
  }
  emit(event);
}

void StreamedTapper::emit(const EventView& event) {
  if (!batched()) {
    submitEvent(event);
    return;
  }
  if (pending_.empty()) pending_first_timestamp_ = event.timestamp_ns;
  if (!pending_.append(event)) {
    reportOnce(Problem::kOutOfMemory, {"out of memory batching streamed events; events are lost"});
    return;
  }
  pending_bytes_ += event.data.size();
  if (pending_bytes_ >= context_.min_streamed_sent_bytes ||
      (pending_.count() >= 2 &&
       wholeSeconds(event.timestamp_ns) - wholeSeconds(pending_first_timestamp_) >=
           kBatchAgeSeconds)) {
    submitPending();
  }
}

void StreamedTapper::releaseHeld() {
  sniff_ = Sniff::kDone;
  held_.forEach([this](const EventView& event) { emit(event); });
  held_.clear();
  held_bytes_ = 0;
}

void StreamedTapper::onConfirmed() {
  if (!provisional_) return;
  provisional_ = false;
  // Plaintext that came before TLS started (STARTTLS): it is the trace's
  // beginning. (A TLS-looking start keeps waiting for onTlsStarted.)
  if (sniff_ != Sniff::kHolding) releaseHeld();
}

void StreamedTapper::onDiscarded() {
  // Not tapped after all: nothing was written (the first segment goes out
  // with the first event), and nothing will be.
  provisional_ = false;
  held_.clear();
  held_bytes_ = 0;
  closed_ = true;
}

void StreamedTapper::onTlsStarted() {
  if (sniff_ != Sniff::kHolding) return;
  // The held events were TLS records: the plaintext comes from the TLS
  // hooks, numbered from the start.
  held_.clear();
  held_bytes_ = 0;
  sniff_ = Sniff::kDone;
  next_seq_ = 1;
}

void StreamedTapper::submitEvent(const EventView& event) {
  writeConnectionOnce();
  SegmentData segment;
  segment.trace_id = trace_id_;
  segment.piece = SegmentData::Piece::kEvent;
  segment.event = &event;
  if (context_.connection_per_event) segment.event_connection = &connection_;
  submit(segment);
}

void StreamedTapper::submitPending() {
  if (pending_.empty()) return;
  writeConnectionOnce();
  SegmentData segment;
  segment.trace_id = trace_id_;
  segment.piece = SegmentData::Piece::kEvents;
  segment.events = &pending_;
  if (context_.connection_per_event) segment.event_connection = &connection_;
  submit(segment);
  pending_.forgetKeepingMemory();
  pending_bytes_ = 0;
}

void StreamedTapper::onClose(const ConnectionInfo& connection) {
  if (closed_) return;
  if (!started_) start(connection);
  connection_.undecrypted_tls = connection.undecrypted_tls;  // if the first segment is not out
  if (sniff_ == Sniff::kHolding) releaseHeld();              // not TLS after all
  closed_ = true;
  if (!lost_) {
    EventView closed;
    closed.timestamp_ns = nextTimestamp();
    closed.kind = EventKind::kClosed;
    closed.seq_num = next_seq_ + 1;
    if (batched()) {
      if (pending_.empty()) pending_first_timestamp_ = closed.timestamp_ns;
      pending_.append(closed);
      submitPending();
    } else {
      submitEvent(closed);
    }
  }
  pending_.clear();
  if (token_ >= 0) context_.sink->close(token_);
  token_ = -1;
}

void StreamedTapper::onHandedOver(const ConnectionInfo& connection) {
  // A connection that a forked child carries on. A forking server's
  // parent accepted it and moved nothing: the child's trace is the
  // connection's only one, so this one is never written.
  if (!connection_written_ && pending_.empty() && held_.empty()) {
    closed_ = true;
    return;
  }
  onClose(connection);
}

void StreamedTapper::submit(const SegmentData& segment) {
  if (lost_) return;
  const bool first = segment.piece == SegmentData::Piece::kConnection;
  if (!first) {
    // A cut not marked yet is marked before anything else goes.
    const bool waiting = pausedAfterFailure();
    if (waiting || !markCut()) {
      noteCut(segment);
      if (!waiting) failed_at_ = context_.clock->nowNanos();
      return;
    }
  }
  // One scratch buffer for every message of the connection: a batch must
  // not cost an mmap, page faults and an munmap each time.
  if (!context_.encoder->encodeSegmentParts(segment, &scratch_, &parts_)) {
    reportOnce(Problem::kOutOfMemory, {"out of memory encoding a streamed message; it is lost"});
    return;
  }
  if (token_ < 0 && segment.piece == SegmentData::Piece::kConnection) {
    uint64_t trace_id = trace_id_;
    token_ = context_.sink->open(&trace_id, context_.encoder->extension());
    if (token_ < 0) {
      lost_ = true;
      return;
    }
    if (trace_id != trace_id_) {
      // The name was taken: the sink moved the trace to a new id, which the
      // first message must carry too.
      trace_id_ = trace_id;
      SegmentData renamed = segment;
      renamed.trace_id = trace_id_;
      if (!context_.encoder->encodeSegmentParts(renamed, &scratch_, &parts_)) return;
    }
  }
  if (writeMessage()) {
    marked_cut_ = 0;  // a later cut is a new one
    failed_at_ = kNever;
    return;
  }
  if (first) {
    // Nothing of the trace is out: no file is left, and nothing more is
    // written (the sink said why).
    lost_ = true;
    if (token_ >= 0) context_.sink->close(token_);
    token_ = -1;
    context_.sink->discard(trace_id_, context_.encoder->extension());
    return;
  }
  noteCut(segment);
  failed_at_ = context_.clock->nowNanos();
  markCut();  // now, in the room the sink keeps for it; else before the next message
}

bool StreamedTapper::pausedAfterFailure() const {
  if (failed_at_ == kNever || closed_) return false;
  // A clock that went back counts as time passed.
  const int64_t now = context_.clock->nowNanos();
  return now >= failed_at_ && now - failed_at_ < kRetryNanos;
}

void StreamedTapper::noteCut(const SegmentData& segment) {
  auto note = [this](EventKind kind) {
    if (kind == EventKind::kClosed) return;
    const uint8_t bit = static_cast<uint8_t>(1u << static_cast<unsigned>(kind));
    if ((marked_cut_ & bit) == 0) unmarked_cut_ |= bit;
  };
  if (segment.piece == SegmentData::Piece::kEvent) note(segment.event->kind);
  if (segment.piece == SegmentData::Piece::kEvents) {
    segment.events->forEach([&](const EventView& event) { note(event.kind); });
  }
}

bool StreamedTapper::markCut() {
  for (EventKind kind : {EventKind::kRead, EventKind::kWrite}) {
    const uint8_t bit = static_cast<uint8_t>(1u << static_cast<unsigned>(kind));
    if ((unmarked_cut_ & bit) == 0) continue;
    // A gap: empty data, truncated, at the byte count reached so far.
    EventView gap;
    gap.timestamp_ns = nextTimestamp();
    gap.kind = kind;
    gap.truncated = true;
    gap.seq_num = next_seq_;
    SegmentData segment;
    segment.trace_id = trace_id_;
    segment.piece = SegmentData::Piece::kEvent;
    segment.event = &gap;
    if (context_.connection_per_event) segment.event_connection = &connection_;
    if (!context_.encoder->encodeSegmentParts(segment, &scratch_, &parts_) ||
        !writeMessage(/*cut_mark=*/true)) {
      return false;
    }
    unmarked_cut_ &= static_cast<uint8_t>(~bit);
    marked_cut_ |= bit;
  }
  return true;
}

bool StreamedTapper::writeMessage(bool cut_mark) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (token_ < 0) token_ = context_.sink->reopen(trace_id_, context_.encoder->extension());
    if (token_ < 0) return false;
    const bool written = cut_mark
                             ? context_.sink->writeCutMark(token_, parts_.data(), parts_.count())
                             : context_.sink->writeParts(token_, parts_.data(), parts_.count());
    if (written) {
      if (!context_.sink->keepsOpen(token_)) {
        context_.sink->close(token_);
        token_ = -1;
      }
      return true;
    }
    token_ = -1;  // not ours any more (or failing): reopen once
  }
  return false;
}

}  // namespace tapshim::core
