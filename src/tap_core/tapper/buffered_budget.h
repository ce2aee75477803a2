// TAP_MAX_BUFFERED_TOTAL_BYTES: the bytes all buffered traces of a process
// may hold at once. Envoy's per-connection limits bound one connection, not
// a server with 100,000 of them and raised limits; this bounds the sum, so
// that recording cuts events (with Envoy's truncation flags) instead of
// growing the host until the kernel kills it.
//
// One atomic counter, shared by every BufferedTapper: charged when an
// event's bytes are kept, given back when its trace is written or dropped.
// No lock, and no system call: it runs on every recorded event, possibly in
// a signal handler.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace tapshim::core {

class BufferedBudget {
 public:
  explicit BufferedBudget(uint64_t limit) : limit_(limit) {}
  BufferedBudget(const BufferedBudget&) = delete;
  BufferedBudget& operator=(const BufferedBudget&) = delete;

  // Charges up to `wanted` bytes and returns how many were granted: fewer
  // when the budget is short, 0 once it is spent.
  uint64_t take(uint64_t wanted) {
    if (wanted == 0) return 0;
    uint64_t held = held_.load(std::memory_order_relaxed);
    uint64_t granted;
    do {
      granted = held >= limit_ ? 0 : std::min(wanted, limit_ - held);
      if (granted == 0) return 0;
    } while (!held_.compare_exchange_weak(held, held + granted, std::memory_order_relaxed));
    return granted;
  }

  // Gives back bytes take() granted.
  void give(uint64_t bytes) {
    if (bytes != 0) held_.fetch_sub(bytes, std::memory_order_relaxed);
  }

  uint64_t held() const { return held_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

  // In a forked child: the parent's traces are not the child's to write or
  // give back (the engine forgets them), so none of their bytes count.
  void forgetAfterFork() { held_.store(0, std::memory_order_relaxed); }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> held_{0};
};

}  // namespace tapshim::core
