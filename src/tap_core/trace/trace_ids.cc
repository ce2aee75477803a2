#include "tap_core/trace/trace_ids.h"

#include "tap_core/base/os.h"

namespace tapshim::core {

uint64_t TraceIds::next() {
  for (;;) {
    uint64_t id = next_.fetch_add(1, std::memory_order_relaxed);
    if (static_cast<uint32_t>(id) != UINT32_MAX) return id;
    reseed();  // the low half would wrap into another process's range
  }
}

void TraceIds::reseed() {
  uint32_t high = 0;
  if (os::randomBytes(&high, sizeof(high)) != 0) {
    // No getrandom: the pid and clock still make collisions unlikely, and
    // O_EXCL catches the rest.
    high = static_cast<uint32_t>(os::processId()) * 2654435761u ^
           static_cast<uint32_t>(os::wallClockNanos());
  }
  setHighForTesting(high);
}

void TraceIds::setHighForTesting(uint32_t high) {
  next_.store(uint64_t{high} << 32, std::memory_order_relaxed);
}

}  // namespace tapshim::core
