// The detour's length decoder and relocation, on byte sequences copied
// from objdump -d of real functions: NodeSource node 20's SSL_read,
// SSL_free, BIO_write and SSL_CTX_set_keylog_callback, Debian 12's
// libssl.a (SSL_read, SSL_read_ex) and libssl.so.3.
#include "preload/patch/x86_64_decoder.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "preload/patch/x86_64_relocate.h"

namespace tapshim::preload::patch {
namespace {

using Bytes = std::vector<uint8_t>;
using Kind = Instruction::Kind;

Instruction decode(const Bytes& bytes) { return decodeInstruction(bytes.data(), bytes.size()); }

struct Known {
  Bytes bytes;
  uint8_t length;
  Kind kind;
};

TEST(X86_64DecoderTest, KnowsThePrologueInstructionsSeenHere) {
  const Known known[] = {
      {{0x55}, 1, Kind::kPlain},                                      // push %rbp
      {{0x48, 0x89, 0xe5}, 3, Kind::kPlain},                          // mov %rsp,%rbp
      {{0x41, 0x57}, 2, Kind::kPlain},                                // push %r15
      {{0x41, 0x5c}, 2, Kind::kPlain},                                // pop %r12
      {{0x49, 0x89, 0xfc}, 3, Kind::kPlain},                          // mov %rdi,%r12
      {{0x41, 0x89, 0xf6}, 3, Kind::kPlain},                          // mov %esi,%r14d
      {{0x48, 0x83, 0xec, 0x38}, 4, Kind::kPlain},                    // sub $0x38,%rsp
      {{0x48, 0x81, 0xec, 0x98, 0x00, 0x00, 0x00}, 7, Kind::kPlain},  // sub $0x98,%rsp
      {{0x48, 0x85, 0xff}, 3, Kind::kPlain},                          // test %rdi,%rdi
      {{0x85, 0xd2}, 2, Kind::kPlain},                                // test %edx,%edx
      {{0x31, 0xc0}, 2, Kind::kPlain},                                // xor %eax,%eax
      {{0x48, 0x83, 0x7f, 0x30, 0x00}, 5, Kind::kPlain},              // cmpq $0x0,0x30(%rdi)
      {{0xb8, 0xff, 0xff, 0xff, 0xff}, 5, Kind::kPlain},              // mov $0xffffffff,%eax
      {{0x48, 0x89, 0xb7, 0xd0, 0x03, 0x00, 0x00}, 7, Kind::kPlain},  // mov %rsi,0x3d0(%rdi)
      {{0x48, 0x89, 0x44, 0x24, 0x08}, 5, Kind::kPlain},              // mov %rax,0x8(%rsp)
      // mov %fs:0x28,%rax: the stack protector's canary (SIB, disp32).
      {{0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00}, 9, Kind::kPlain},
      {{0xf3, 0x0f, 0x1e, 0xfa}, 4, Kind::kPlain},                    // endbr64
      {{0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00}, 7, Kind::kPlain},  // nopl 0x0(%rax)
      {{0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00}, 6, Kind::kPlain},        // nopw 0x0(%rax,%rax,1)
      {{0x90}, 1, Kind::kPlain},                                      // nop
      {{0x48, 0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00}, 7, Kind::kPlain},  // mov $0x1,%rax
      {{0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}, 10, Kind::kPlain},       // movabs $imm64,%rax
      {{0x66, 0x81, 0xff, 0x34, 0x12}, 5, Kind::kPlain},              // cmp $0x1234,%di
      {{0x48, 0x8d, 0x44, 0x24, 0x10}, 5, Kind::kPlain},              // lea 0x10(%rsp),%rax
      // lea 0x86f59(%rip),%rdi and mov 0x85fd5(%rip),%rax (libssl.so.3)
      {{0x48, 0x8d, 0x3d, 0x59, 0x6f, 0x08, 0x00}, 7, Kind::kRipRelative},
      {{0x48, 0x8b, 0x05, 0xd5, 0x5f, 0x08, 0x00}, 7, Kind::kRipRelative},
      // cmpb $0x0,0x1234(%rip): the immediate follows the displacement.
      {{0x80, 0x3d, 0x34, 0x12, 0x00, 0x00, 0x00}, 7, Kind::kRipRelative},
  };
  for (const Known& instruction : known) {
    const Instruction decoded = decode(instruction.bytes);
    EXPECT_EQ(decoded.length, instruction.length) << testing::PrintToString(instruction.bytes);
    EXPECT_EQ(decoded.kind, instruction.kind) << testing::PrintToString(instruction.bytes);
  }
  EXPECT_EQ(decode({0x48, 0x8d, 0x3d, 0x59, 0x6f, 0x08, 0x00}).displacement_offset, 3);
  EXPECT_EQ(decode({0x80, 0x3d, 0x34, 0x12, 0x00, 0x00, 0x00}).displacement_offset, 2);
}

TEST(X86_64DecoderTest, TellsBranchesReturnsAndUnknownBytesApart) {
  // je +0x16 (node's SSL_free), jle rel32 (node's BIO_write), call rel32
  // (libssl.a's SSL_read_ex), jmp rel8/rel32.
  const Instruction je = decode({0x74, 0x16});
  EXPECT_EQ(je.kind, Kind::kRelativeBranch);
  EXPECT_EQ(je.length, 2);
  EXPECT_EQ(je.branch_displacement, 0x16);
  const Instruction jle = decode({0x0f, 0x8e, 0x06, 0x01, 0x00, 0x00});
  EXPECT_EQ(jle.kind, Kind::kRelativeBranch);
  EXPECT_EQ(jle.length, 6);
  EXPECT_EQ(jle.branch_displacement, 0x106);
  const Instruction call = decode({0xe8, 0xc7, 0xfd, 0xff, 0xff});
  EXPECT_EQ(call.kind, Kind::kRelativeBranch);
  EXPECT_EQ(call.branch_displacement, -0x239);
  EXPECT_EQ(decode({0xeb, 0xfe}).kind, Kind::kRelativeBranch);
  EXPECT_EQ(decode({0xe9, 0, 0, 0, 0}).kind, Kind::kRelativeBranch);
  EXPECT_EQ(decode({0xc3}).kind, Kind::kReturn);
  EXPECT_EQ(decode({0xff, 0xe0}).kind, Kind::kIndirect);                   // jmp *%rax
  EXPECT_EQ(decode({0xff, 0x25, 0, 0, 0, 0}).kind, Kind::kIndirect);       // jmp *(%rip)
  EXPECT_EQ(decode({0xcc}).kind, Kind::kUnknown);                          // int3
  EXPECT_EQ(decode({0x0f, 0x05}).kind, Kind::kUnknown);                    // syscall
  EXPECT_EQ(decode({0x67, 0x8d, 0x05, 0, 0, 0, 0}).kind, Kind::kUnknown);  // addr32
  EXPECT_EQ(decode({0x48, 0x8d, 0xc0}).kind, Kind::kUnknown);              // lea without memory
  EXPECT_EQ(decode({0xc7, 0xc8, 0, 0, 0, 0}).kind, Kind::kUnknown);        // c7 /1
  // Cut short: the bytes end inside the instruction.
  EXPECT_EQ(decode({0x48, 0x8b, 0x05, 0xd5}).kind, Kind::kUnknown);
  EXPECT_EQ(decode({0x48}).kind, Kind::kUnknown);
  EXPECT_EQ(decode({}).kind, Kind::kUnknown);
}

// node 20's SSL_read: push %rbp; mov %rsp,%rbp; push %r14; push %r13; ...
const Bytes kNodeSslRead = {0x55, 0x48, 0x89, 0xe5, 0x41, 0x56, 0x41, 0x55, 0x41, 0x54,
                            0x48, 0x83, 0xec, 0x48, 0x85, 0xd2, 0x0f, 0x88, 0x37, 0x01,
                            0x00, 0x00, 0x48, 0x83, 0x7f, 0x30, 0x00, 0x49, 0x89, 0xfd};

TEST(X86_64RelocateTest, PlansWholeInstructionsCoveringFiveBytes) {
  const DisplacePlan plan = planDisplacement(kNodeSslRead.data(), kNodeSslRead.size(), 5);
  ASSERT_TRUE(plan.ok);
  EXPECT_EQ(plan.length, 6u);  // 1 + 3 + 2
  ASSERT_EQ(plan.count, 3);
  EXPECT_EQ(plan.starts[1], 1);
  EXPECT_EQ(plan.starts[2], 4);
  // libssl.a's SSL_read: sub $0x18,%rsp; mov %fs:0x28,%rax.
  const Bytes static_read = {0x48, 0x83, 0xec, 0x18, 0x64, 0x48, 0x8b, 0x04,
                             0x25, 0x28, 0x00, 0x00, 0x00, 0x48, 0x89, 0x44};
  const DisplacePlan static_plan = planDisplacement(static_read.data(), static_read.size(), 5);
  ASSERT_TRUE(static_plan.ok);
  EXPECT_EQ(static_plan.length, 13u);
}

TEST(X86_64RelocateTest, RefusesABranchAmongTheDisplacedBytes) {
  // node's SSL_free: test %rdi,%rdi; je ...
  const Bytes ssl_free = {0x48, 0x85, 0xff, 0x74, 0x16, 0xb8, 0xff, 0xff, 0xff, 0xff};
  const DisplacePlan plan = planDisplacement(ssl_free.data(), ssl_free.size(), 5);
  EXPECT_FALSE(plan.ok);
  EXPECT_EQ(plan.refused_at, 3u);
  EXPECT_EQ(plan.refused_kind, Kind::kRelativeBranch);
  // libssl.a's SSL_read_ex: sub $0x8,%rsp; call ssl_read_internal.
  const Bytes read_ex = {0x48, 0x83, 0xec, 0x08, 0xe8, 0xc7, 0xfd, 0xff, 0xff};
  EXPECT_FALSE(planDisplacement(read_ex.data(), read_ex.size(), 5).ok);
  // A function that returns within its first five bytes.
  const Bytes tiny = {0x31, 0xc0, 0xc3, 0x90, 0x90, 0x90};
  const DisplacePlan tiny_plan = planDisplacement(tiny.data(), tiny.size(), 5);
  EXPECT_FALSE(tiny_plan.ok);
  EXPECT_EQ(tiny_plan.refused_kind, Kind::kReturn);
}

TEST(X86_64RelocateTest, FixesRipRelativeDisplacementsForTheNewAddress) {
  // endbr64; lea 0x86f59(%rip),%rdi: 11 bytes, the lea at +4.
  const Bytes code = {0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8d, 0x3d, 0x59, 0x6f, 0x08, 0x00};
  const DisplacePlan plan = planDisplacement(code.data(), code.size(), 5);
  ASSERT_TRUE(plan.ok);
  ASSERT_EQ(plan.length, 11u);
  const uintptr_t from = 0x218d0 - 4, to = from + 0x10000000;
  uint8_t out[16] = {};
  ASSERT_TRUE(relocate(code.data(), from, plan, out, to));
  // The operand's address: from + 11 + 0x86f59 both ways.
  int32_t moved = 0;
  for (int i = 3; i >= 0; --i) moved = static_cast<int32_t>((uint32_t(moved) << 8) | out[7 + i]);
  EXPECT_EQ(to + 11 + static_cast<int64_t>(moved), from + 11 + 0x86f59);
  // Everything else is copied as it was.
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(out[i], code[i]) << i;
  // Out of reach: a move of more than 2 GiB cannot keep the operand.
  EXPECT_FALSE(relocate(code.data(), from, plan, out, from + (uintptr_t{3} << 30)));
  // Plain instructions move anywhere.
  const DisplacePlan node_plan = planDisplacement(kNodeSslRead.data(), kNodeSslRead.size(), 5);
  EXPECT_TRUE(relocate(kNodeSslRead.data(), 0x1a6b180, node_plan, out, uintptr_t{1} << 46));
  for (size_t i = 0; i < node_plan.length; ++i) EXPECT_EQ(out[i], kNodeSslRead[i]) << i;
}

TEST(X86_64RelocateTest, FindsBranchesIntoTheDisplacedInstructions) {
  const DisplacePlan plan = planDisplacement(kNodeSslRead.data(), kNodeSslRead.size(), 5);
  ASSERT_TRUE(plan.ok);
  // node's SSL_read body: js +0x137 goes far beyond: nothing.
  EXPECT_EQ(branchIntoDisplaced(kNodeSslRead.data(), kNodeSslRead.size(), plan), -1);
  // A loop back to the mov at +1 (jmp rel8 at 20: 20 + 2 - 21 = 1).
  Bytes looping = kNodeSslRead;
  looping[20] = 0xeb;
  looping[21] = static_cast<uint8_t>(-21);
  EXPECT_EQ(branchIntoDisplaced(looping.data(), looping.size(), plan), 20);
  // A jne rel32 to the push at +4 (at 10: 10 + 6 + d = 4, d = -12).
  Bytes far = kNodeSslRead;
  const Bytes jne = {0x0f, 0x85, 0xf4, 0xff, 0xff, 0xff};
  for (size_t i = 0; i < jne.size(); ++i) far[10 + i] = jne[i];
  EXPECT_EQ(branchIntoDisplaced(far.data(), far.size(), plan), 10);
  // A branch to the entry itself is fine: it reaches the detour.
  Bytes to_entry = kNodeSslRead;
  to_entry[20] = 0xeb;
  to_entry[21] = static_cast<uint8_t>(-22);
  EXPECT_EQ(branchIntoDisplaced(to_entry.data(), to_entry.size(), plan), -1);
}

}  // namespace
}  // namespace tapshim::preload::patch
