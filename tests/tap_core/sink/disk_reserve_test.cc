// DiskReserve (TAP_DISK_RESERVE): below the reserve nothing is written;
// free space is asked at most every 100 ms or half the reserve written,
// never per message; the first time it runs low, one stderr line.
#include "tap_core/sink/disk_reserve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "tap_core/base/diagnostics.h"
#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/fake_disk_space.h"

namespace tapshim::core {
namespace {

using tapshim::testing::FakeClock;
using tapshim::testing::FakeDiskSpace;
using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1 << 20;
constexpr int64_t kMillisecond = 1'000'000;

class DiskReserveTest : public ::testing::Test {
 protected:
  void SetUp() override { resetReports(); }
  void TearDown() override { resetReports(); }

  FakeClock clock_{1000 * FakeClock::kSecond};
  FakeDiskSpace space_{/*available=*/50 * kMiB, /*total=*/100 * kMiB};
};

TEST_F(DiskReserveTest, PercentOfTheFileSystemSize) {
  DiskReserve reserve({0, 10}, "/var/tap/trace", clock_);
  reserve.useSourceForTesting(&space_);
  EXPECT_TRUE(reserve.allows(0));
  EXPECT_EQ(space_.lastDirectory(), "/var/tap");
  space_.setAvailable(10 * kMiB);  // exactly the reserve: still allowed
  clock_.advanceNanos(DiskReserve::kRecheckNanos);
  EXPECT_TRUE(reserve.allows(0));
  space_.setAvailable(10 * kMiB - 1);
  clock_.advanceNanos(DiskReserve::kRecheckNanos);
  EXPECT_FALSE(reserve.allows(0));
}

TEST_F(DiskReserveTest, BytesAndNoReserveAtAll) {
  DiskReserve bytes({64 * kMiB, 0}, "trace", clock_);
  bytes.useSourceForTesting(&space_);
  EXPECT_FALSE(bytes.allows(1));
  EXPECT_EQ(space_.queries(), 1);
  EXPECT_EQ(space_.lastDirectory(), ".");

  DiskReserve none({0, 0}, "/var/tap/trace", clock_);
  FakeDiskSpace full(0, 100 * kMiB);
  none.useSourceForTesting(&full);
  EXPECT_TRUE(none.allows(1));
  EXPECT_EQ(full.queries(), 0) << "no reserve: free space is never asked";
}

TEST_F(DiskReserveTest, DirectoryOfThePrefix) {
  for (const auto& [prefix, directory] :
       {std::pair{"/var/tap/trace", "/var/tap"}, std::pair{"/trace", "/"},
        std::pair{"/var/tap/", "/var/tap"}, std::pair{"trace", "."},
        std::pair{"sub/trace", "sub"}}) {
    DiskReserve reserve({1, 0}, prefix, clock_);
    EXPECT_STREQ(reserve.directory(), directory) << prefix;
  }
}

TEST_F(DiskReserveTest, AskedAtMostEvery100MillisecondsNotPerMessage) {
  DiskReserve reserve({0, 5}, "/var/tap/trace", clock_);
  reserve.useSourceForTesting(&space_);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(reserve.allows(100));
  EXPECT_EQ(space_.queries(), 1);
  clock_.advanceNanos(99 * kMillisecond);
  EXPECT_TRUE(reserve.allows(100));
  EXPECT_EQ(space_.queries(), 1);
  clock_.advanceNanos(1 * kMillisecond);
  EXPECT_TRUE(reserve.allows(100));
  EXPECT_EQ(space_.queries(), 2);
}

TEST_F(DiskReserveTest, AskedSoonerOnceHalfTheReserveWasWritten) {
  // A fast writer must not run through the reserve between two looks.
  DiskReserve reserve({8 * kMiB, 0}, "/var/tap/trace", clock_);
  reserve.useSourceForTesting(&space_);
  EXPECT_TRUE(reserve.allows(0));
  EXPECT_EQ(space_.queries(), 1);
  EXPECT_TRUE(reserve.allows(4 * kMiB - 1));
  EXPECT_TRUE(reserve.allows(1));  // half the reserve written now: the next call looks
  EXPECT_EQ(space_.queries(), 1);
  space_.setAvailable(8 * kMiB - 1);
  EXPECT_FALSE(reserve.allows(1));
  EXPECT_EQ(space_.queries(), 2);
}

TEST_F(DiskReserveTest, ClockThatWentBackCountsAsTimePassed) {
  DiskReserve reserve({0, 5}, "/var/tap/trace", clock_);
  reserve.useSourceForTesting(&space_);
  EXPECT_TRUE(reserve.allows(0));
  clock_.advanceNanos(-FakeClock::kSecond);
  EXPECT_TRUE(reserve.allows(0));
  EXPECT_EQ(space_.queries(), 2);
}

TEST_F(DiskReserveTest, ResumesWhenSpaceReturnsAndSaysSoOnlyOnce) {
  DiskReserve reserve({0, 10}, "/var/tap/trace", clock_);
  reserve.useSourceForTesting(&space_);
  space_.setAvailable(kMiB);
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(reserve.allows(0));
  clock_.advanceNanos(DiskReserve::kRecheckNanos);
  EXPECT_FALSE(reserve.allows(0));
  space_.setAvailable(50 * kMiB);
  clock_.advanceNanos(DiskReserve::kRecheckNanos);
  EXPECT_TRUE(reserve.allows(0));
  space_.setAvailable(kMiB);
  clock_.advanceNanos(DiskReserve::kRecheckNanos);
  EXPECT_FALSE(reserve.allows(0));  // low again: not said again
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(said,
            "tapshim: less than 10% (10485760 bytes) free on the file system of /var/tap "
            "(TAP_DISK_RESERVE): no new traces, and streamed traces are cut, until space "
            "returns\n");
}

TEST_F(DiskReserveTest, FreeSpaceThatCannotBeAskedStopsNothing) {
  // A missing directory: creating the file says what is wrong.
  DiskReserve reserve({0, 5}, "/nonexistent/trace", clock_);
  space_.failWith(ENOENT);
  reserve.useSourceForTesting(&space_);
  EXPECT_TRUE(reserve.allows(0));
}

TEST_F(DiskReserveTest, RealStatfsOfAnExistingDirectory) {
  // The default source: a 100% reserve can never be met on a file system
  // that has anything on it, and a reserve of 0% always is.
  DiskReserve all({0, 100}, "/tmp/trace", clock_);
  EXPECT_FALSE(all.allows(0));
  DiskReserve none({1, 0}, "/tmp/trace", clock_);
  EXPECT_TRUE(none.allows(0));
}

}  // namespace
}  // namespace tapshim::core
