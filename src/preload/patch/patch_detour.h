// The inline detour itself: a page of trampolines within reach of a
// 32-bit jump from the executable, and the 5-byte jump written over a
// function's entry. Each trampoline holds the function's displaced first
// instructions (relocated) and an absolute jump back to the rest; a stub
// beside it jumps on to the shim's entry for that function.
#pragma once

#include <cstddef>
#include <cstdint>

#include "preload/patch/x86_64_relocate.h"

namespace tapshim::preload::patch {

class TrampolinePage {
 public:
  // Maps a read-write page within ±2 GiB of [low, high); false if none.
  bool allocate(uintptr_t low, uintptr_t high);
  // Writes the trampoline for a function at `function` (its first bytes
  // `code`, displaced as `plan`) and the stub that jumps to `entry`.
  // Returns the trampoline's address (0 when the page is full or a
  // displacement does not fit), and sets *stub.
  uintptr_t add(uintptr_t function, const uint8_t* code, const DisplacePlan& plan, uintptr_t entry,
                uintptr_t* stub);
  // Read and execute only, from now on; false when the system refuses
  // executable memory (W^X policies).
  bool seal();
  void release();

 private:
  uint8_t* page_ = nullptr;
  size_t used_ = 0;
};

enum class WriteResult : uint8_t {
  kDone,
  kChanged,      // the bytes are no longer what was read
  kNotWritable,  // mprotect refused
  kNotRestored,  // written, but the protection could not be put back
  kOutOfReach,   // the stub is beyond a 32-bit jump
};

// Writes `jmp stub` over the function's first 5 bytes, after checking that
// its first `expected_length` (>= 5) bytes still read `expected`, with the
// pages writable only meanwhile and restored to `protection`.
WriteResult writeJump(uintptr_t function, const uint8_t* expected, size_t expected_length,
                      uintptr_t stub, int protection);

}  // namespace tapshim::preload::patch
