// src/tap_core/tapper/: Envoy's per-connection recording rules. A tapper
// (this file's PerSocketTapper) takes one connection's reads, writes, gaps
// and close, applies Envoy's limits and truncation flags, and hands whole
// messages to an encoder and a sink: buffered (buffered_tapper.h, one
// trace at close) or streamed (streamed_tapper.h, per event or batched).
// Uses encoder/, sink/, trace/, base/; knows nothing of fds or hooks.
//
// The per-connection recorder (Envoy's PerSocketTapper), and what all
// tappers of a process share.
#pragma once

#include <cstdint>

#include "tap_core/base/clock.h"
#include "tap_core/encoder/trace_encoder.h"
#include "tap_core/sink/sink.h"
#include "tap_core/tapper/buffered_budget.h"
#include "tap_core/trace/trace_ids.h"
#include "tap_core/trace/trace_types.h"

namespace tapshim::core {

struct TapperContext {
  Clock* clock = nullptr;
  Sink* sink = nullptr;
  const TraceEncoder* encoder = nullptr;
  TraceIds* ids = nullptr;
  const ProcessInfo* process = nullptr;
  uint32_t max_buffered_rx_bytes = 1024;
  uint32_t max_buffered_tx_bytes = 1024;
  // What all buffered traces of the process may hold at once
  // (TAP_MAX_BUFFERED_TOTAL_BYTES); nullptr: no bound beyond the limits
  // above. Streamed traces do not buffer and take nothing from it.
  BufferedBudget* buffered_budget = nullptr;
  // Streaming (Envoy's output_config.streaming and friends).
  bool streaming = false;
  uint32_t min_streamed_sent_bytes = 0;  // > 0: batched
  bool connection_per_event = false;
};

class PerSocketTapper {
 public:
  virtual ~PerSocketTapper() = default;
  // The connection is known to be established (connect completed, accept,
  // adoption), with these addresses. Streaming writes its first segment.
  virtual void onEstablished(const ConnectionInfo& /*connection*/) {}
  // Bytes the program received (the call's result counts, n > 0).
  virtual void onRead(const IoSlices& data) = 0;
  // Bytes the kernel accepted from the program (n > 0).
  virtual void onWrite(const IoSlices& data) = 0;
  // Bytes went by that the shim could not see (e.g. recv with MSG_TRUNC):
  // recorded as an empty, truncated event, so the trace shows the gap.
  virtual void onGap(Direction direction) = 0;
  // The program shut down its sending side (shutdown SHUT_WR/SHUT_RDWR).
  virtual void onHalfClose() = 0;
  // The connection ended; `connection` holds its addresses. Called once.
  virtual void onClose(const ConnectionInfo& connection) = 0;
  // TLS was found to run on this connection after some of its socket data
  // was recorded (a memory-BIO program, whose TLS calls do no socket I/O):
  // if the recording so far is TLS records from the start, forget it.
  virtual void onTlsStarted() {}
  // The connection ended and another process carries it on (see
  // TapEngine::onForkParent): end without writing anything if nothing was
  // recorded yet, otherwise as onClose.
  virtual void onHandedOver(const ConnectionInfo& connection) = 0;

  // Provisional recording: whether the connection is tapped at all is not
  // known yet (TAP_MATCH names `tls`, and a plaintext start may still turn
  // into TLS, as STARTTLS does). Events are kept and nothing is written
  // until onConfirmed (write them and go on) or onDiscarded (drop them,
  // never write anything). Called before onEstablished.
  virtual void onProvisional() {}
  virtual void onConfirmed() {}
  virtual void onDiscarded() {}
  // Whether provisional recording holds as much as it may: the engine then
  // decides without waiting longer.
  virtual bool provisionalFull() const { return false; }
};

}  // namespace tapshim::core
