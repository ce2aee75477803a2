// The start-up arena (src/preload/startup_arena.h): served only inside a
// Scope, aligned, never overlapping, recognised by owns(), and nullptr
// (malloc's turn) when full.
#include "preload/startup_arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace tapshim::preload::startup_arena {
namespace {

// The arena is process-wide and never given back: the tests run in order,
// in one process, and each accounts for what the earlier ones used.

TEST(StartupArena, ServesNothingOutsideAScope) {
  EXPECT_EQ(allocate(16), nullptr);
  EXPECT_EQ(used(), 0u);
}

TEST(StartupArena, ServesAlignedDistinctWritableBlocksInsideAScope) {
  const size_t before = used();
  void* first = nullptr;
  void* second = nullptr;
  {
    const Scope scope;
    first = allocate(1);
    second = allocate(33);
  }
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 16, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(second) % 16, 0u);
  EXPECT_GE(static_cast<unsigned char*>(second) - static_cast<unsigned char*>(first), 16);
  EXPECT_EQ(used() - before, 16u + 48u);
  std::memset(second, 0xab, 33);
  EXPECT_TRUE(owns(first));
  EXPECT_TRUE(owns(static_cast<unsigned char*>(second) + 32));
  // Closed again: nothing more from the arena.
  EXPECT_EQ(allocate(16), nullptr);
}

TEST(StartupArena, DoesNotClaimOtherMemory) {
  auto* heap = new int(1);
  int on_stack = 0;
  EXPECT_FALSE(owns(heap));
  EXPECT_FALSE(owns(&on_stack));
  EXPECT_FALSE(owns(nullptr));
  delete heap;
}

TEST(StartupArena, SaysFullRatherThanOverflowing) {
  const Scope scope;
  EXPECT_EQ(allocate(kBytes + 1), nullptr);
  EXPECT_EQ(allocate(SIZE_MAX - 7), nullptr);  // rounding up would wrap
  const size_t room = kBytes - used();
  void* last = allocate(room);
  ASSERT_NE(last, nullptr);
  EXPECT_TRUE(owns(static_cast<unsigned char*>(last) + room - 1));
  EXPECT_EQ(used(), kBytes);
  EXPECT_EQ(allocate(1), nullptr);
}

}  // namespace
}  // namespace tapshim::preload::startup_arena
