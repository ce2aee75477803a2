// Envoy's buffered socket tap (envoy-tap-format.md 3.2): every event of a
// connection is kept, within per-direction byte budgets, and one
// TraceWrapper{socket_buffered_trace} is written when the connection ends.
#pragma once

#include <cstdint>

#include "tap_core/tapper/tapper.h"
#include "tap_core/trace/event_log.h"

namespace tapshim::core {

class BufferedTapper final : public PerSocketTapper {
 public:
  BufferedTapper(const TapperContext& context, uint64_t trace_id);
  // A trace dropped unwritten (not tapped after all, a lost race) gives its
  // bytes back to the process's budget too.
  ~BufferedTapper() override { releaseBudget(); }

  // PerSocketTapper
  void onRead(const IoSlices& data) override;
  void onWrite(const IoSlices& data) override;
  void onGap(Direction direction) override;
  void onHalfClose() override;
  void onClose(const ConnectionInfo& connection) override;
  void onHandedOver(const ConnectionInfo& connection) override;
  void onTlsStarted() override;

  uint64_t traceId() const { return trace_id_; }

 private:
  void record(Direction direction, const IoSlices& data);
  int64_t nextTimestamp();
  void submit(const ConnectionInfo& connection);
  // Gives what events_ held back to context_.buffered_budget.
  void releaseBudget();

  const TapperContext& context_;
  uint64_t trace_id_;
  EventLog events_;
  // Bytes of each direction's budget used, and whether it ran out
  // (read_truncated / write_truncated): indexed by Direction.
  uint64_t used_[2] = {0, 0};
  bool truncated_[2] = {false, false};
  // Bytes taken from context_.buffered_budget for events_.
  uint64_t charged_ = 0;
  // No floor before the first event: a clock before the epoch is kept.
  int64_t last_timestamp_ = INT64_MIN;
  bool closed_ = false;
};

}  // namespace tapshim::core
