// Envoy's streamed socket tap (envoy-tap-format.md 3.3, 3.4): a first
// segment with the connection, then either one message per event (each
// event cut to the max_buffered limits) or, with min_streamed_sent_bytes,
// batches of whole events; a closed event at the end. The first segment
// goes out with the first event or batch (or the close), not when the
// connection is established as in Envoy: a forking server's parent, which
// hands the connection to a child without moving a byte, then writes
// nothing, and the child's trace is the connection's only one. Every event carries
// seq_num: one counter for both directions, from 1, advanced by each
// call's full byte count; the closed event takes the counter plus one.
//
// Each message reaches the kernel (one writev(2): the encoded fields, and
// long event data straight from the program's buffer or the batch, never
// copied again) before the hooked call that produced it returns, so a
// killed program loses nothing it had been told was done; batched messages
// wait for the threshold, the 15-second age, the close or the process's
// exit.
//
// A message the sink cannot write whole (a full disk, the disk reserve, the
// file size limit) is not written at all: its events are lost, and the
// trace says where with a gap event (empty, truncated) in each direction
// that lost some, written at once if the sink has room for it (Sink::
// writeCutMark), else before the next message that goes through. After
// such a failure, messages wait kRetryNanos before the next try (the
// close's excepted), so a full disk costs no system call per event. A
// trace whose first message cannot be written leaves no file and is lost.
#pragma once

#include <cstdint>

#include "tap_core/encoder/message_parts.h"
#include "tap_core/tapper/tapper.h"
#include "tap_core/trace/event_log.h"

namespace tapshim::core {

class StreamedTapper final : public PerSocketTapper {
 public:
  static constexpr int64_t kBatchAgeSeconds = 15;      // Envoy's hard-coded aged duration
  static constexpr int64_t kRetryNanos = 100'000'000;  // after a message could not be written

  StreamedTapper(const TapperContext& context, uint64_t trace_id);
  ~StreamedTapper() override;

  // PerSocketTapper
  void onEstablished(const ConnectionInfo& connection) override;
  void onRead(const IoSlices& data) override;
  void onWrite(const IoSlices& data) override;
  void onGap(Direction direction) override;
  void onHalfClose() override {}  // the last write was already written
  void onClose(const ConnectionInfo& connection) override;
  void onHandedOver(const ConnectionInfo& connection) override;
  void onTlsStarted() override;
  void onProvisional() override { provisional_ = true; }
  void onConfirmed() override;
  void onDiscarded() override;
  bool provisionalFull() const override { return provisional_ && held_bytes_ > kMaxHeldBytes; }

  uint64_t traceId() const { return trace_id_; }

 private:
  bool batched() const { return context_.min_streamed_sent_bytes > 0; }
  void record(EventKind kind, const IoSlices& data, bool gap);
  // Sends (or, batched, queues) one event that is ready to go.
  void emit(const EventView& event);
  // The held events are not TLS after all: send them, in order.
  void releaseHeld();
  void start(const ConnectionInfo& connection);
  // Writes the first segment (the connection) if it is not out yet.
  void writeConnectionOnce();
  void submitEvent(const EventView& event);
  void submitPending();
  // Encodes and writes one segment; opens the file on first use.
  void submit(const SegmentData& segment);
  // Writes the message in parts_ (as a cut mark: see Sink::writeCutMark).
  bool writeMessage(bool cut_mark = false);
  // Notes the directions of the events in `segment`, which could not be
  // written, as cut.
  void noteCut(const SegmentData& segment);
  // Writes a gap event for each direction cut and not marked yet; false
  // when one could not be written.
  bool markCut();
  // Whether a message failed less than kRetryNanos ago (the close is
  // tried regardless).
  bool pausedAfterFailure() const;
  int64_t nextTimestamp();

  const TapperContext& context_;
  uint64_t trace_id_;
  ConnectionInfo connection_;
  int token_ = -1;
  bool started_ = false;  // the connection is known
  bool connection_written_ = false;
  bool closed_ = false;
  bool lost_ = false;         // the file could not be created: nothing more to write
  bool provisional_ = false;  // events are held until onConfirmed or onDiscarded
  uint64_t next_seq_ = 1;
  int64_t last_timestamp_ = INT64_MIN;
  // A connection whose first bytes are a TLS handshake record may turn out
  // to run TLS in a memory-BIO program (the socket's bytes are then TLS
  // records, and the TLS hooks bring the plaintext): its events are held
  // until onTlsStarted drops them, or, past kMaxHeldBytes or at close,
  // sent after all.
  static constexpr uint64_t kMaxHeldBytes = 64 * 1024;
  enum class Sniff : uint8_t { kFirstEvent, kHolding, kDone };
  Sniff sniff_ = Sniff::kFirstEvent;
  EventLog held_;
  uint64_t held_bytes_ = 0;
  // Batched mode: events waiting for the threshold.
  EventLog pending_;
  // The message being written: its encoded fields in scratch_, pointed
  // at by parts_ together with the event data. Both kept for the next.
  ByteBuffer scratch_;
  MessageParts parts_;
  uint64_t pending_bytes_ = 0;
  int64_t pending_first_timestamp_ = 0;
  // Directions (bit 1 << EventKind) whose events could not be written:
  // not marked by a gap event yet, and marked since the last message that
  // went through (they are not marked again until one does).
  uint8_t unmarked_cut_ = 0;
  uint8_t marked_cut_ = 0;
  // When the last message could not be written; kNever after one went.
  static constexpr int64_t kNever = INT64_MIN;
  int64_t failed_at_ = kNever;
};

}  // namespace tapshim::core
