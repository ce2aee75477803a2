// Moving a function's first instructions elsewhere (the trampoline of a
// detour): which instructions the 5-byte jump covers, their copy with
// RIP-relative displacements fixed up for the new address, and a check of
// the function's body for branches into them. Built on x86_64_decoder.h;
// no libc: unit tests link it alone.
#pragma once

#include <cstddef>
#include <cstdint>

#include "preload/patch/x86_64_decoder.h"

namespace tapshim::preload::patch {

// The whole instructions that hold a function's first `minimum` bytes.
struct DisplacePlan {
  static constexpr int kMaxInstructions = 8;
  bool ok = false;
  size_t length = 0;                      // bytes displaced (>= minimum)
  int count = 0;                          // instructions displaced
  uint8_t starts[kMaxInstructions] = {};  // each one's offset
  // When !ok: the offset and kind of the instruction refused.
  size_t refused_at = 0;
  Instruction::Kind refused_kind = Instruction::Kind::kUnknown;
};

// Decodes from `code` until `minimum` bytes are covered; refuses any
// instruction that is not kPlain or kRipRelative.
DisplacePlan planDisplacement(const uint8_t* code, size_t available, size_t minimum);

// Writes the plan's instructions to `out` (plan.length bytes) as they must
// read at address `to`, having been at `from`. False when a fixed-up
// RIP-relative displacement does not fit in 32 bits.
bool relocate(const uint8_t* code, uintptr_t from, const DisplacePlan& plan, uint8_t* out,
              uintptr_t to);

// Looks through a function's body (`size` bytes from its entry, `code`)
// at every byte offset past the displaced ones for the encodings of
// rel8/rel32 jumps, jcc, loop and call whose target would be the start of
// a displaced instruction other than the first: such a branch would land
// in the middle of the 5-byte jump. Byte-wise, so conservative: data or a
// longer instruction's bytes that happen to read as such a branch count
// too. Returns the offset of the first match, or -1.
long branchIntoDisplaced(const uint8_t* code, size_t size, const DisplacePlan& plan);

}  // namespace tapshim::preload::patch
