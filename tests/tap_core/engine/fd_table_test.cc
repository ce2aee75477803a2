// FdTable: the lock-free fd -> connection map every hook reads first.
#include "tap_core/engine/fd_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "tap_core/engine/tapped_connection.h"

namespace tapshim::core {
namespace {

using Visited = std::vector<std::pair<int, TappedConnection*>>;

class FdTableTest : public ::testing::Test {
 protected:
  // The table is large (a pointer per chunk of 1024 fds): keep it off the stack.
  std::unique_ptr<FdTable> table_ = std::make_unique<FdTable>();
  TappedConnection a_, b_, c_;
};

TEST_F(FdTableTest, UnseenFdsAreNull) {
  EXPECT_EQ(table_->get(0), nullptr);
  EXPECT_EQ(table_->get(5000), nullptr);
  EXPECT_EQ(table_->get(FdTable::kMaxFd - 1), nullptr);
}

TEST_F(FdTableTest, NegativeAndTooLargeFdsReadAsNotTapped) {
  EXPECT_EQ(table_->get(-1), FdTable::kNotTapped);
  EXPECT_EQ(table_->get(FdTable::kMaxFd), FdTable::kNotTapped);
  EXPECT_EQ(table_->get(INT32_MAX), FdTable::kNotTapped);
}

TEST_F(FdTableTest, ExchangeStoresAndReturnsThePreviousValue) {
  bool stored = false;
  EXPECT_EQ(table_->exchange(3, &a_, &stored), nullptr);
  EXPECT_TRUE(stored);
  EXPECT_EQ(table_->get(3), &a_);
  EXPECT_EQ(table_->exchange(3, FdTable::kNotTapped), &a_);
  EXPECT_EQ(table_->get(3), FdTable::kNotTapped);
  EXPECT_EQ(table_->exchange(3, nullptr, &stored), FdTable::kNotTapped);
  EXPECT_TRUE(stored);
  EXPECT_EQ(table_->get(3), nullptr);
  EXPECT_EQ(table_->get(4), nullptr);  // neighbours untouched
}

TEST_F(FdTableTest, ExchangeWorksAtChunkEdgesAndTheLastFd) {
  for (int fd : {FdTable::kChunkSlots - 1, FdTable::kChunkSlots, FdTable::kMaxFd - 1}) {
    bool stored = false;
    table_->exchange(fd, &a_, &stored);
    EXPECT_TRUE(stored) << fd;
    EXPECT_EQ(table_->get(fd), &a_) << fd;
  }
  EXPECT_EQ(table_->get(FdTable::kChunkSlots - 2), nullptr);
}

TEST_F(FdTableTest, OutOfRangeFdsAreNeverStored) {
  for (int fd : {-1, FdTable::kMaxFd, INT32_MAX}) {
    bool stored = true;
    EXPECT_EQ(table_->exchange(fd, &a_, &stored), nullptr) << fd;
    EXPECT_FALSE(stored) << fd;
    stored = true;
    EXPECT_EQ(table_->exchange(fd, nullptr, &stored), nullptr) << fd;
    EXPECT_FALSE(stored) << fd;
    EXPECT_FALSE(table_->compareAndSet(fd, nullptr, &a_)) << fd;
    EXPECT_EQ(table_->get(fd), FdTable::kNotTapped) << fd;
  }
}

TEST_F(FdTableTest, ClearingAnFdInAnUnmappedChunkStoresNothing) {
  bool stored = true;
  EXPECT_EQ(table_->exchange(70000, nullptr, &stored), nullptr);
  EXPECT_FALSE(stored);
}

TEST_F(FdTableTest, CompareAndSetOnlyReplacesTheExpectedValue) {
  EXPECT_TRUE(table_->compareAndSet(7, nullptr, &a_));
  EXPECT_FALSE(table_->compareAndSet(7, nullptr, &b_));  // someone adopted it first
  EXPECT_EQ(table_->get(7), &a_);
  EXPECT_TRUE(table_->compareAndSet(7, &a_, &b_));
  EXPECT_EQ(table_->get(7), &b_);
}

TEST_F(FdTableTest, ClearRangeVisitsOnlyConnectionsAndEmptiesEverySlot) {
  table_->exchange(2, &a_);
  table_->exchange(3, FdTable::kNotTapped);
  table_->exchange(5, &b_);
  table_->exchange(2000, &c_);  // another chunk
  table_->exchange(3000, &a_);  // outside the range
  Visited visited;
  table_->clearRange(3, 2500, [&](int fd, TappedConnection* c) { visited.emplace_back(fd, c); });
  EXPECT_EQ(visited, (Visited{{5, &b_}, {2000, &c_}}));
  EXPECT_EQ(table_->get(2), &a_);
  EXPECT_EQ(table_->get(3), nullptr);  // kNotTapped is cleared too
  EXPECT_EQ(table_->get(5), nullptr);
  EXPECT_EQ(table_->get(2000), nullptr);
  EXPECT_EQ(table_->get(3000), &a_);
}

TEST_F(FdTableTest, ClearRangeToUintMaxCoversTheWholeTable) {
  // close_range(3, ~0U): the usual call before exec.
  table_->exchange(3, &a_);
  table_->exchange(FdTable::kMaxFd - 1, &b_);
  Visited visited;
  table_->clearRange(3, ~0U, [&](int fd, TappedConnection* c) { visited.emplace_back(fd, c); });
  EXPECT_EQ(visited, (Visited{{3, &a_}, {FdTable::kMaxFd - 1, &b_}}));
  visited.clear();
  table_->clearRange(FdTable::kMaxFd, ~0U,
                     [&](int fd, TappedConnection* c) { visited.emplace_back(fd, c); });
  EXPECT_TRUE(visited.empty());
}

TEST_F(FdTableTest, ForEachConnectionVisitsWithoutClearing) {
  table_->exchange(1, &a_);
  table_->exchange(4, FdTable::kNotTapped);
  table_->exchange(1500, &b_);
  table_->exchange(1501, &b_);  // a dup: both fds are visited
  Visited visited;
  table_->forEachConnection(0, FdTable::kMaxFd - 1,
                            [&](int fd, TappedConnection* c) { visited.emplace_back(fd, c); });
  EXPECT_EQ(visited, (Visited{{1, &a_}, {1500, &b_}, {1501, &b_}}));
  EXPECT_EQ(table_->get(1), &a_);
  visited.clear();
  table_->forEachConnection(2, 1500,
                            [&](int fd, TappedConnection* c) { visited.emplace_back(fd, c); });
  EXPECT_EQ(visited, (Visited{{1500, &b_}}));
}

TEST_F(FdTableTest, ForgetAfterForkEmptiesTheTable) {
  table_->exchange(1, &a_);
  table_->exchange(5000, &b_);
  table_->forgetAfterFork();
  EXPECT_EQ(table_->get(1), nullptr);
  EXPECT_EQ(table_->get(5000), nullptr);
}

}  // namespace
}  // namespace tapshim::core
