#include "tap_core/trace/trace_ids.h"

#include <sched.h>

#include "tap_core/base/os.h"

namespace tapshim::core {

uint64_t TraceIds::next() {
  if (!seeded_.load(std::memory_order_acquire)) seedOnce();
  for (;;) {
    uint64_t id = next_.fetch_add(1, std::memory_order_relaxed);
    if (static_cast<uint32_t>(id) != UINT32_MAX) return id;
    reseed();  // the low half would wrap into another process's range
  }
}

void TraceIds::seedOnce() {
  bool expected = false;
  if (seeding_.compare_exchange_strong(expected, true)) {
    reseed();
    return;
  }
  while (!seeded_.load(std::memory_order_acquire)) sched_yield();  // another thread draws it
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
  seeded_.store(true, std::memory_order_release);
}

}  // namespace tapshim::core
