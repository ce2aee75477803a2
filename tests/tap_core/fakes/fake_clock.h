// A Clock whose time the test sets (Envoy's SimulatedTimeSystem).
#pragma once

#include <cstdint>

#include "tap_core/base/clock.h"

namespace tapshim::testing {

class FakeClock final : public core::Clock {
 public:
  static constexpr int64_t kSecond = 1000000000;

  explicit FakeClock(int64_t now_nanos = 0) : now_(now_nanos) {}

  // Clock
  int64_t nowNanos() override {
    ++calls_;
    return now_;
  }

  void setNanos(int64_t nanos) { now_ = nanos; }
  void setSeconds(int64_t seconds) { now_ = seconds * kSecond; }
  void advanceNanos(int64_t nanos) { now_ += nanos; }
  int calls() const { return calls_; }

 private:
  int64_t now_;
  int calls_ = 0;
};

}  // namespace tapshim::testing
