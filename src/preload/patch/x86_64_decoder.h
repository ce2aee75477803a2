// A length decoder for the x86-64 instructions that open functions
// (endbr64, push/pop, mov, lea, ALU with immediates, test, xor, nops): how
// long one instruction is, and where its RIP-relative displacement sits,
// so that it can be moved elsewhere. It knows a deliberately small table
// and refuses everything else: a detour is only safe for instructions it
// fully understands. No libc, no allocation: unit tests link it alone.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapshim::preload::patch {

struct Instruction {
  enum class Kind : uint8_t {
    kUnknown,         // not in the table: refuse
    kPlain,           // moves anywhere unchanged
    kRipRelative,     // moves with its 32-bit displacement adjusted
    kRelativeBranch,  // jmp/jcc/call rel8/rel32: refuse (its target moves)
    kReturn,          // ret: the function ends inside the displaced bytes
    kIndirect,        // jmp/call through a register or memory: refuse
  };
  Kind kind = Kind::kUnknown;
  uint8_t length = 0;
  // kRipRelative: where the disp32 starts within the instruction.
  uint8_t displacement_offset = 0;
  // kRelativeBranch: the branch's displacement (from the next instruction).
  int32_t branch_displacement = 0;
};

// Decodes the instruction at `code` (at most `available` bytes readable).
// Kind::kUnknown when it is not one the table knows or runs past
// `available`.
Instruction decodeInstruction(const uint8_t* code, size_t available);

// Why an instruction cannot be displaced, in a few words ("a relative
// branch"), for the one line the shim writes.
const char* refusalReason(Instruction::Kind kind);

}  // namespace tapshim::preload::patch
