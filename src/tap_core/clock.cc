#include "tap_core/clock.h"

#include "tap_core/os.h"

namespace tapshim::core {

int64_t WallClock::nowNanos() { return os::wallClockNanos(); }

}  // namespace tapshim::core
