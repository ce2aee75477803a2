// Where event timestamps come from; a seam for tests.
#pragma once

#include <cstdint>

namespace tapshim::core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock nanoseconds since the epoch, as Envoy stamps tap events.
  virtual int64_t nowNanos() = 0;
};

class WallClock final : public Clock {
 public:
  // Clock
  int64_t nowNanos() override;
};

}  // namespace tapshim::core
