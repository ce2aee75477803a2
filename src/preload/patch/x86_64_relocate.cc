#include "preload/patch/x86_64_relocate.h"

namespace tapshim::preload::patch {
namespace {

int32_t readInt32(const uint8_t* bytes) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | bytes[i];
  return static_cast<int32_t>(value);
}

void writeInt32(uint8_t* bytes, int32_t value) {
  const auto bits = static_cast<uint32_t>(value);
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(bits >> (8 * i));
}

bool isInteriorStart(const DisplacePlan& plan, long target) {
  for (int i = 1; i < plan.count; ++i) {
    if (target == plan.starts[i]) return true;
  }
  return false;
}

}  // namespace

DisplacePlan planDisplacement(const uint8_t* code, size_t available, size_t minimum) {
  DisplacePlan plan;
  while (plan.length < minimum) {
    if (plan.count == DisplacePlan::kMaxInstructions) {
      plan.refused_at = plan.length;
      return plan;
    }
    const Instruction instruction = decodeInstruction(code + plan.length, available - plan.length);
    if (instruction.kind != Instruction::Kind::kPlain &&
        instruction.kind != Instruction::Kind::kRipRelative) {
      plan.refused_at = plan.length;
      plan.refused_kind = instruction.kind;
      return plan;
    }
    plan.starts[plan.count++] = static_cast<uint8_t>(plan.length);
    plan.length += instruction.length;
  }
  plan.ok = true;
  return plan;
}

bool relocate(const uint8_t* code, uintptr_t from, const DisplacePlan& plan, uint8_t* out,
              uintptr_t to) {
  for (size_t i = 0; i < plan.length; ++i) out[i] = code[i];
  for (int i = 0; i < plan.count; ++i) {
    const size_t start = plan.starts[i];
    const Instruction instruction = decodeInstruction(code + start, plan.length - start);
    if (instruction.kind != Instruction::Kind::kRipRelative) continue;
    // The operand's address stays where it was: from + start + length +
    // old == to + start + length + new.
    const int64_t fixed =
        static_cast<int64_t>(readInt32(code + start + instruction.displacement_offset)) +
        static_cast<int64_t>(from - to);
    if (fixed < INT32_MIN || fixed > INT32_MAX) return false;
    writeInt32(out + start + instruction.displacement_offset, static_cast<int32_t>(fixed));
  }
  return true;
}

long branchIntoDisplaced(const uint8_t* code, size_t size, const DisplacePlan& plan) {
  if (plan.count <= 1) return -1;
  for (size_t at = plan.length; at < size; ++at) {
    const uint8_t byte = code[at];
    const long here = static_cast<long>(at);
    // rel8: jcc, jmp short, loop/jrcxz.
    if (((byte >= 0x70 && byte <= 0x7f) || byte == 0xeb || (byte >= 0xe0 && byte <= 0xe3)) &&
        at + 1 < size && isInteriorStart(plan, here + 2 + static_cast<int8_t>(code[at + 1]))) {
      return here;
    }
    // rel32: call, jmp.
    if ((byte == 0xe8 || byte == 0xe9) && at + 4 < size &&
        isInteriorStart(plan, here + 5 + readInt32(code + at + 1))) {
      return here;
    }
    // rel32 jcc: 0f 80..8f.
    if (byte == 0x0f && at + 5 < size && code[at + 1] >= 0x80 && code[at + 1] <= 0x8f &&
        isInteriorStart(plan, here + 6 + readInt32(code + at + 2))) {
      return here;
    }
  }
  return -1;
}

}  // namespace tapshim::preload::patch
