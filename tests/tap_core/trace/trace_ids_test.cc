// TraceIds: ids never repeat within a process, across threads, and a
// forked child (reseed) moves to another high half.
#include "tap_core/trace/trace_ids.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace tapshim::core {
namespace {

uint32_t highHalf(uint64_t id) { return static_cast<uint32_t>(id >> 32); }

TEST(TraceIdsTest, ConsecutiveIdsShareTheHighHalfAndCount) {
  TraceIds ids;
  ids.setHighForTesting(0xabcd);
  EXPECT_EQ(ids.next(), 0xabcd00000000u);
  EXPECT_EQ(ids.next(), 0xabcd00000001u);
}

TEST(TraceIdsTest, ManyCallsGiveUniqueIds) {
  TraceIds ids;
  std::set<uint64_t> seen;
  for (int i = 0; i < 100000; ++i) EXPECT_TRUE(seen.insert(ids.next()).second);
}

TEST(TraceIdsTest, IdsAreUniqueAcrossThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  TraceIds ids;
  std::vector<std::vector<uint64_t>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) drawn[t].push_back(ids.next());
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<uint64_t> seen;
  for (const auto& list : drawn) seen.insert(list.begin(), list.end());
  EXPECT_EQ(seen.size(), size_t{kThreads} * kPerThread);
}

TEST(TraceIdsTest, ReseedDrawsANewHighHalfAndRestartsTheCounter) {
  TraceIds ids;
  ids.setHighForTesting(0x12345678);
  ids.next();
  ids.next();
  ids.reseed();
  const uint64_t id = ids.next();
  // A fresh random 32-bit value equals the old one once in 2^32 runs.
  EXPECT_NE(highHalf(id), 0x12345678u);
  EXPECT_EQ(static_cast<uint32_t>(id), 0u);
}

TEST(TraceIdsTest, TwoInstancesDrawDifferentHighHalves) {
  // What keeps two processes sharing a prefix apart.
  TraceIds a, b;
  EXPECT_NE(highHalf(a.next()), highHalf(b.next()));
}

}  // namespace
}  // namespace tapshim::core
