#include "tap_core/base/clock.h"

#include "tap_core/base/os.h"

namespace tapshim::core {

int64_t WallClock::nowNanos() { return os::wallClockNanos(); }

}  // namespace tapshim::core
