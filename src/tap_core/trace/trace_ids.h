// Trace ids unique among all processes that share a path prefix.
//
// An id is a random 32-bit value drawn per process (and drawn again in a
// forked child) in the high half, and a counter in the low half. Two
// processes collide only if they draw the same 32 bits; the file sink's
// O_EXCL then refuses the second file and a fresh id is taken.
#pragma once

#include <atomic>
#include <cstdint>

namespace tapshim::core {

class TraceIds {
 public:
  // The random half is drawn with the first id, not here: a process that
  // never traces a connection makes no getrandom call.
  TraceIds() = default;
  uint64_t next();
  // Draws a new random high half and restarts the counter (fork, or the
  // counter ran out).
  void reseed();
  // For tests: a fixed high half.
  void setHighForTesting(uint32_t high);

 private:
  void seedOnce();

  std::atomic<uint64_t> next_{0};
  std::atomic<bool> seeding_{false};
  std::atomic<bool> seeded_{false};
};

}  // namespace tapshim::core
