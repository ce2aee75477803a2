#include "preload/patch/x86_64_decoder.h"

namespace tapshim::preload::patch {
namespace {

using Kind = Instruction::Kind;

// How an opcode continues: a ModRM byte, an immediate, and what it is.
enum Immediate : uint8_t {
  kNoImmediate,
  kImm8,
  kImm16,
  kImmZ,  // 32 bits, or 16 with the operand-size prefix (0x66)
  kImmV,  // mov r, imm: 32 bits, 64 with REX.W, 16 with 0x66
};
struct Opcode {
  Kind kind = Kind::kUnknown;
  bool modrm = false;
  Immediate immediate = kNoImmediate;
  // ModRM's reg field selects the instruction (0x80-0x83, 0xC6/0xC7,
  // 0xF6/0xF7, 0xFE/0xFF): handled in decodeInstruction.
  bool group = false;
};

constexpr Opcode plain(bool modrm, Immediate immediate = kNoImmediate) {
  return Opcode{Kind::kPlain, modrm, immediate, false};
}
constexpr Opcode grouped(Immediate immediate = kNoImmediate) {
  return Opcode{Kind::kPlain, true, immediate, true};
}
constexpr Opcode branch(Immediate immediate) {
  return Opcode{Kind::kRelativeBranch, false, immediate, false};
}

// The one-byte opcodes the table knows; every other entry is kUnknown.
constexpr auto kOneByte = [] {
  struct Table {
    Opcode entries[256];
  } table{};
  for (int base = 0x00; base <= 0x38; base += 8) {
    // add, or, adc, sbb, and, sub, xor, cmp: r/m forms, then al/eax, imm.
    for (int i = 0; i < 4; ++i) table.entries[base + i] = plain(true);
    table.entries[base + 4] = plain(false, kImm8);
    table.entries[base + 5] = plain(false, kImmZ);
  }
  for (int i = 0x50; i <= 0x5f; ++i) table.entries[i] = plain(false);   // push/pop r64
  table.entries[0x63] = plain(true);                                    // movsxd
  table.entries[0x68] = plain(false, kImmZ);                            // push imm32
  table.entries[0x69] = plain(true, kImmZ);                             // imul imm32
  table.entries[0x6a] = plain(false, kImm8);                            // push imm8
  table.entries[0x6b] = plain(true, kImm8);                             // imul imm8
  for (int i = 0x70; i <= 0x7f; ++i) table.entries[i] = branch(kImm8);  // jcc rel8
  table.entries[0x80] = grouped(kImm8);
  table.entries[0x81] = grouped(kImmZ);
  table.entries[0x83] = grouped(kImm8);
  for (int i = 0x84; i <= 0x8b; ++i) table.entries[i] = plain(true);          // test, xchg, mov
  table.entries[0x8d] = plain(true);                                          // lea
  for (int i = 0x90; i <= 0x99; ++i) table.entries[i] = plain(false);         // nop, xchg, cbw, cwd
  table.entries[0xa8] = plain(false, kImm8);                                  // test al, imm8
  table.entries[0xa9] = plain(false, kImmZ);                                  // test eax, imm32
  for (int i = 0xb0; i <= 0xb7; ++i) table.entries[i] = plain(false, kImm8);  // mov r8, imm8
  for (int i = 0xb8; i <= 0xbf; ++i) table.entries[i] = plain(false, kImmV);  // mov r, imm
  table.entries[0xc0] = plain(true, kImm8);                                   // shifts by imm8
  table.entries[0xc1] = plain(true, kImm8);
  table.entries[0xc2] = Opcode{Kind::kReturn, false, kImm16, false};
  table.entries[0xc3] = Opcode{Kind::kReturn, false, kNoImmediate, false};
  table.entries[0xc6] = grouped(kImm8);                                 // mov r/m8, imm8
  table.entries[0xc7] = grouped(kImmZ);                                 // mov r/m, imm32
  for (int i = 0xd0; i <= 0xd3; ++i) table.entries[i] = plain(true);    // shifts by 1 or cl
  for (int i = 0xe0; i <= 0xe3; ++i) table.entries[i] = branch(kImm8);  // loop, jrcxz
  table.entries[0xe8] = branch(kImmZ);                                  // call rel32
  table.entries[0xe9] = branch(kImmZ);                                  // jmp rel32
  table.entries[0xeb] = branch(kImm8);                                  // jmp rel8
  table.entries[0xf6] = grouped();
  table.entries[0xf7] = grouped();
  table.entries[0xfe] = grouped();
  table.entries[0xff] = grouped();
  return table;
}();

// The two-byte opcodes (0x0F, then this byte) the table knows.
constexpr auto kTwoByte = [] {
  struct Table {
    Opcode entries[256];
  } table{};
  // movups/movss/movsd, movaps, xorps and the like: SSE moves of prologues.
  const int sse_moves[] = {0x10, 0x11, 0x28, 0x29, 0x57, 0x6f, 0x7f, 0xd6, 0xef};
  for (int i : sse_moves) table.entries[i] = plain(true);
  for (int i = 0x18; i <= 0x1f; ++i) table.entries[i] = plain(true);    // hint nops, endbr64
  for (int i = 0x40; i <= 0x4f; ++i) table.entries[i] = plain(true);    // cmovcc
  for (int i = 0x80; i <= 0x8f; ++i) table.entries[i] = branch(kImmZ);  // jcc rel32
  for (int i = 0x90; i <= 0x9f; ++i) table.entries[i] = plain(true);    // setcc
  const int with_modrm[] = {0xa3, 0xab, 0xaf, 0xb3, 0xb6, 0xb7, 0xbb, 0xbe, 0xbf};
  for (int i : with_modrm) table.entries[i] = plain(true);             // bt*, imul, movzx, movsx
  table.entries[0xba] = plain(true, kImm8);                            // bt* imm8
  for (int i = 0xc8; i <= 0xcf; ++i) table.entries[i] = plain(false);  // bswap
  return table;
}();

bool isLegacyPrefix(uint8_t byte) {
  switch (byte) {
    case 0x66:  // operand size
    case 0xf2:
    case 0xf3:  // rep, and endbr64's mandatory prefix
    case 0xf0:  // lock
    case 0x26:
    case 0x2e:
    case 0x36:
    case 0x3e:
    case 0x64:  // fs: the stack protector's canary
    case 0x65:
      return true;
    default:
      return false;
  }
}

}  // namespace

Instruction decodeInstruction(const uint8_t* code, size_t available) {
  constexpr size_t kMaxLength = 15;  // the architecture's limit
  if (available > kMaxLength) available = kMaxLength;
  Instruction unknown;
  size_t at = 0;
  bool operand_size_16 = false;
  while (at < available && isLegacyPrefix(code[at])) {
    if (code[at] == 0x66) operand_size_16 = true;
    ++at;
  }
  // 0x67 (32-bit addressing) makes a RIP-relative operand EIP-relative,
  // truncated: refused with every other unknown byte.
  bool rex_w = false;
  if (at < available && (code[at] & 0xf0) == 0x40) {
    rex_w = (code[at] & 0x08) != 0;
    ++at;
  }
  if (at >= available) return unknown;
  Opcode opcode;
  if (code[at] == 0x0f) {
    if (++at >= available) return unknown;
    opcode = kTwoByte.entries[code[at]];
  } else {
    opcode = kOneByte.entries[code[at]];
  }
  ++at;
  if (opcode.kind == Kind::kUnknown) return unknown;
  Instruction decoded;
  decoded.kind = opcode.kind;
  Immediate immediate = opcode.immediate;
  if (opcode.modrm) {
    if (at >= available) return unknown;
    const uint8_t modrm = code[at++];
    const uint8_t mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
    if (opcode.group) {
      const uint8_t op = code[at - 2];
      if ((op == 0xc6 || op == 0xc7) && reg != 0) return unknown;
      if (op == 0xf6 || op == 0xf7) {
        // test takes an immediate; not, neg, mul, div do not.
        if (reg <= 1) immediate = op == 0xf6 ? kImm8 : kImmZ;
      }
      if (op == 0xfe && reg > 1) return unknown;
      if (op == 0xff) {
        if (reg == 2 || reg == 3 || reg == 4 || reg == 5) decoded.kind = Kind::kIndirect;
        if (reg == 7) return unknown;
      }
    }
    if (code[at - 2] == 0x8d && mod == 3) return unknown;  // lea needs memory
    if (mod != 3) {
      if (rm == 4) {
        if (at >= available) return unknown;
        const uint8_t sib = code[at++];
        if (mod == 0 && (sib & 7) == 5) at += 4;
      } else if (mod == 0 && rm == 5) {
        if (decoded.kind == Kind::kPlain) decoded.kind = Kind::kRipRelative;
        decoded.displacement_offset = static_cast<uint8_t>(at);
        at += 4;
      }
      if (mod == 1) at += 1;
      if (mod == 2) at += 4;
    }
  }
  switch (immediate) {
    case kNoImmediate:
      break;
    case kImm8:
      at += 1;
      break;
    case kImm16:
      at += 2;
      break;
    case kImmZ:
      at += operand_size_16 ? 2 : 4;
      break;
    case kImmV:
      at += rex_w ? 8 : (operand_size_16 ? 2 : 4);
      break;
  }
  if (at > available) return unknown;
  decoded.length = static_cast<uint8_t>(at);
  if (decoded.kind == Kind::kRelativeBranch) {
    if (immediate == kImm8) {
      decoded.branch_displacement = static_cast<int8_t>(code[at - 1]);
    } else if (immediate == kImmZ && !operand_size_16) {
      int32_t value = 0;
      for (int i = 3; i >= 0; --i)
        value = static_cast<int32_t>((uint32_t(value) << 8) | code[at - 4 + i]);
      decoded.branch_displacement = value;
    } else {
      return unknown;
    }
  }
  return decoded;
}

const char* refusalReason(Instruction::Kind kind) {
  switch (kind) {
    case Kind::kRelativeBranch:
      return "a relative branch or call";
    case Kind::kReturn:
      return "a return";
    case Kind::kIndirect:
      return "an indirect branch or call";
    case Kind::kUnknown:
      return "an instruction the decoder does not know";
    case Kind::kPlain:
    case Kind::kRipRelative:
      break;
  }
  return "nothing";
}

}  // namespace tapshim::preload::patch
