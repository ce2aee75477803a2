// The file sinks against the limits of real files: the file size limit
// (RLIMIT_FSIZE, which kills with SIGXFSZ a process that writes at it), a
// full disk (a small tmpfs: ENOSPC part way through a write) and the disk
// reserve (free space from a fake). Whatever happens, a trace file ends at
// a whole message, or is not there at all, and the process gets no signal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tap_core/base/diagnostics.h"
#include "tap_core/sink/file_per_process_sink.h"
#include "tap_core/sink/file_per_tap_sink.h"
#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/fake_disk_space.h"
#include "tests/tap_core/fakes/small_tmpfs.h"
#include "tests/tap_core/fakes/temp_directory.h"

namespace tapshim::core {
namespace {

namespace fs = std::filesystem;

using tapshim::testing::FakeClock;
using tapshim::testing::FakeDiskSpace;
using tapshim::testing::readFile;
using tapshim::testing::SmallTmpfs;
using tapshim::testing::TempDirectory;
using tapshim::testing::writeFile;
using ::testing::HasSubstr;

constexpr std::string_view kExtension = ".pb_length_delimited";

std::string message(char fill, size_t size) { return std::string(size, fill); }

std::vector<fs::path> filesIn(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir)) found.push_back(entry.path());
  return found;
}

// Lowers the soft RLIMIT_FSIZE and blocks SIGXFSZ for the test, so that a
// write at the limit leaves the signal pending (where the test sees it)
// instead of killing the test program; both are put back afterwards.
class FileSizeLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    resetReports();
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved_limit_), 0);
    sigset_t xfsz;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &xfsz, &saved_mask_), 0);
  }
  void TearDown() override {
    setrlimit(RLIMIT_FSIZE, &saved_limit_);
    takeSigxfsz();
    pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
    resetReports();
  }

  void limitFilesTo(uint64_t bytes) {
    rlimit limit = saved_limit_;
    limit.rlim_cur = bytes;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  // Whether the kernel sent SIGXFSZ (it stays pending, blocked); takes it.
  static bool takeSigxfsz() {
    sigset_t xfsz;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    const timespec now{0, 0};
    return sigtimedwait(&xfsz, nullptr, &now) == SIGXFSZ;
  }

  std::string prefix() const { return (temp_.path() / "trace").string(); }
  fs::path pathOf(uint64_t id) const {
    return temp_.path() / ("trace_" + std::to_string(id) + std::string(kExtension));
  }

  TempDirectory temp_{"tapshim_fsize"};
  TraceIds ids_;
  FakeClock clock_;
  rlimit saved_limit_{};
  sigset_t saved_mask_{};
};

TEST_F(FileSizeLimitTest, AMessageThatWouldCrossTheLimitIsNotWrittenAndNoSignalIsSent) {
  limitFilesTo(10000);  // `ulimit -f`, before the program starts
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 7;
  const int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(sink.write(token, message('a', 4000)));
  EXPECT_TRUE(sink.write(token, message('b', 4000)));
  // 8000 + 4000 would cross 10000: before, the write was cut short at the
  // limit and the rest written at it, which sends SIGXFSZ (the program
  // died of it, exit status 153).
  EXPECT_FALSE(sink.write(token, message('c', 4000)));
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(takeSigxfsz()) << "the shim's write got the process SIGXFSZ";
  setrlimit(RLIMIT_FSIZE, &saved_limit_);
  EXPECT_EQ(readFile(pathOf(7)), message('a', 4000) + message('b', 4000));
  EXPECT_EQ(said,
            "tapshim: a trace file reached the file size limit (RLIMIT_FSIZE, 10000 bytes): "
            "traces are cut there\n");
}

TEST_F(FileSizeLimitTest, TheRoomKeptUnderTheLimitTakesTheCutMark) {
  limitFilesTo(10000);
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 8;
  int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  ASSERT_TRUE(sink.write(token, message('a', 4000)));
  ASSERT_TRUE(sink.write(token, message('b', 4000)));
  // 8000 + 1000 + the room kept for the mark: a data message is refused...
  EXPECT_FALSE(sink.write(token, message('c', 1000)));
  // ...and gives its token up; a cut mark then fits in the kept room.
  token = sink.reopen(id, kExtension);
  ASSERT_GE(token, 0);
  const std::string mark = message('m', 1000);
  const iovec part{const_cast<char*>(mark.data()), mark.size()};
  EXPECT_TRUE(sink.writeCutMark(token, &part, 1));
  token = sink.reopen(id, kExtension);
  ASSERT_GE(token, 0);
  const std::string too_big = message('n', 1001);
  const iovec big_part{const_cast<char*>(too_big.data()), too_big.size()};
  EXPECT_FALSE(sink.writeCutMark(token, &big_part, 1)) << "a mark never crosses the limit";
  EXPECT_FALSE(takeSigxfsz());
  setrlimit(RLIMIT_FSIZE, &saved_limit_);
  EXPECT_EQ(readFile(pathOf(8)), message('a', 4000) + message('b', 4000) + mark);
}

TEST_F(FileSizeLimitTest, RoomTellsABufferedTraceHowMuchFits) {
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 9;
  const int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  EXPECT_EQ(sink.room(token, 1 << 20), UINT64_MAX) << "no limit yet";
  limitFilesTo(20 * 1024);
  clock_.advanceNanos(FileSizeLimit::kRecheckNanos);  // the limit is asked again
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(sink.room(token, 1000), 20 * 1024 - MessageWriter::kMarkRoom);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << "it fits: nothing to say";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(sink.room(token, 1 << 20), 20 * 1024 - MessageWriter::kMarkRoom);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("RLIMIT_FSIZE, 20480 bytes"));
  sink.close(token);
}

TEST_F(FileSizeLimitTest, NoFileIsCreatedWhenTheLimitLeavesNoRoom) {
  limitFilesTo(MessageWriter::kMarkRoom);
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 10;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(sink.open(&id, kExtension), -1);
  ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(filesIn(temp_.path()).empty());
  EXPECT_FALSE(takeSigxfsz());
}

TEST_F(FileSizeLimitTest, PerProcessFileStopsAtTheLimitToo) {
  FilePerProcessSink sink(prefix(), ids_, clock_);
  limitFilesTo(10000);
  uint64_t id = 1;
  const int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(sink.write(token, message('a', 4000)));
  EXPECT_TRUE(sink.write(token, message('b', 4000)));
  EXPECT_FALSE(sink.write(token, message('c', 4000)));
  EXPECT_FALSE(sink.write(token, message('d', 4000)));
  ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(takeSigxfsz());
  setrlimit(RLIMIT_FSIZE, &saved_limit_);
  const std::vector<fs::path> files = filesIn(temp_.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(readFile(files[0]), message('a', 4000) + message('b', 4000));
}

// A full disk: a 64 KiB tmpfs. Every write that fails part way is taken
// back, so the file ends at its last whole message; a file that got no
// whole message is removed (discard).
class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << disk_.whyNot();
    resetReports();
    ::testing::internal::CaptureStderr();
  }
  void TearDown() override {
    if (disk_.mounted()) said_ = ::testing::internal::GetCapturedStderr();
    resetReports();
  }

  std::string prefix() const { return (disk_.path() / "trace").string(); }
  fs::path pathOf(uint64_t id) const {
    return disk_.path() / ("trace_" + std::to_string(id) + std::string(kExtension));
  }

  SmallTmpfs disk_{64 * 1024};
  TraceIds ids_;
  FakeClock clock_;
  std::string said_;
};

TEST_F(FullDiskTest, ABufferedTraceThatDoesNotFitLeavesNoFile) {
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 1;
  const int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  // Before: the file was left cut at 64 KiB, in the middle of the record.
  EXPECT_FALSE(sink.write(token, message('a', 100 * 1024)));
  EXPECT_EQ(fs::file_size(pathOf(1)), 0u) << "the part that was written is taken back";
  sink.discard(id, kExtension);
  EXPECT_TRUE(filesIn(disk_.path()).empty());
}

TEST_F(FullDiskTest, AStreamedTraceEndsAtItsLastWholeMessage) {
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 2;
  int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  ASSERT_TRUE(sink.write(token, message('a', 20 * 1024)));
  sink.close(token);
  token = sink.reopen(id, kExtension);
  ASSERT_GE(token, 0);
  EXPECT_FALSE(sink.write(token, message('b', 60 * 1024)));
  EXPECT_EQ(readFile(pathOf(2)), message('a', 20 * 1024));
  // The space the cut message took is free again: the next one goes.
  token = sink.reopen(id, kExtension);
  ASSERT_GE(token, 0);
  EXPECT_TRUE(sink.write(token, message('c', 1000)));
  sink.close(token);
  EXPECT_EQ(readFile(pathOf(2)), message('a', 20 * 1024) + message('c', 1000));
  sink.discard(id, kExtension);
  EXPECT_TRUE(fs::exists(pathOf(2))) << "a file with whole messages is never removed";
}

TEST_F(FullDiskTest, ThePerProcessFileEndsAtItsLastWholeMessage) {
  FilePerProcessSink sink(prefix(), ids_, clock_);
  uint64_t id = 3;
  const int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  ASSERT_TRUE(sink.write(token, message('a', 20 * 1024)));
  ASSERT_TRUE(sink.write(token, message('b', 20 * 1024)));
  EXPECT_FALSE(sink.write(token, message('c', 40 * 1024)));
  EXPECT_TRUE(sink.write(token, message('d', 1000)));
  const std::vector<fs::path> files = filesIn(disk_.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(readFile(files[0]),
            message('a', 20 * 1024) + message('b', 20 * 1024) + message('d', 1000));
}

TEST_F(FullDiskTest, APerProcessFileAnotherProcessAppendedToIsNotCut) {
  // Bytes after the sink's last message are another writer's (a child
  // made by a raw clone(2)): the sink cannot tell where its failed message
  // began, and cuts nothing rather than someone else's message.
  FilePerProcessSink sink(prefix(), ids_, clock_);
  uint64_t id = 4;
  const int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  ASSERT_TRUE(sink.write(token, message('a', 20 * 1024)));
  const std::vector<fs::path> files = filesIn(disk_.path());
  ASSERT_EQ(files.size(), 1u);
  {
    std::ofstream other(files[0], std::ios::binary | std::ios::app);
    other << message('o', 100);
  }
  EXPECT_FALSE(sink.write(token, message('b', 60 * 1024)));
  const std::string contents = readFile(files[0]);
  EXPECT_EQ(contents.substr(0, 20 * 1024 + 100), message('a', 20 * 1024) + message('o', 100));
  EXPECT_GT(contents.size(), 20u * 1024 + 100) << "left as it was";
}

TEST_F(FullDiskTest, SaysOnceThatTracesAreCut) {
  FilePerTapSink sink(prefix(), ids_, clock_);
  for (uint64_t id = 10; id < 13; ++id) {
    uint64_t trace_id = id;
    const int token = sink.open(&trace_id, kExtension);
    ASSERT_GE(token, 0);
    EXPECT_FALSE(sink.write(token, message('a', 100 * 1024)));
    sink.discard(trace_id, kExtension);
  }
  EXPECT_TRUE(filesIn(disk_.path()).empty());
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(said, "tapshim: cannot write a trace file: No space left on device (traces are cut)\n");
  ::testing::internal::CaptureStderr();  // for TearDown
}

// The disk reserve, with free space from a fake.
class DiskReserveSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    resetReports();
  }
  void TearDown() override { resetReports(); }

  std::string prefix() const { return (temp_.path() / "trace").string(); }
  fs::path pathOf(uint64_t id) const {
    return temp_.path() / ("trace_" + std::to_string(id) + std::string(kExtension));
  }
  void pass(int64_t nanos) { clock_.advanceNanos(nanos); }

  TempDirectory temp_{"tapshim_reserve"};
  TraceIds ids_;
  FakeClock clock_{1000 * FakeClock::kSecond};
  FakeDiskSpace space_{/*available=*/50 << 20, /*total=*/100 << 20};
};

TEST_F(DiskReserveSinkTest, BelowTheReserveNoTraceIsCreatedUntilSpaceReturns) {
  FilePerTapSink sink(prefix(), ids_, clock_, DiskReserve::Setting{0, 10});
  sink.writerForTesting().reserveForTesting().useSourceForTesting(&space_);
  space_.setAvailable(1 << 20);
  uint64_t id = 1;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(sink.open(&id, kExtension), -1);
  EXPECT_EQ(sink.open(&id, kExtension), -1);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              HasSubstr("less than 10% (10485760 bytes) free on the file system of " +
                        temp_.path().string()));
  EXPECT_TRUE(filesIn(temp_.path()).empty());
  space_.setAvailable(50 << 20);
  pass(DiskReserve::kRecheckNanos);
  const int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  EXPECT_TRUE(sink.write(token, "whole"));
  sink.close(token);
}

TEST_F(DiskReserveSinkTest, AStreamedTraceIsCutAndMarkedBelowTheReserveAndResumes) {
  FilePerTapSink sink(prefix(), ids_, clock_, DiskReserve::Setting{0, 10});
  sink.writerForTesting().reserveForTesting().useSourceForTesting(&space_);
  uint64_t id = 2;
  int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  ASSERT_TRUE(sink.write(token, "first;"));
  space_.setAvailable(1 << 20);
  pass(DiskReserve::kRecheckNanos);
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(sink.write(token, "refused;"));
  ::testing::internal::GetCapturedStderr();
  token = sink.reopen(id, kExtension);
  ASSERT_GE(token, 0);
  const std::string mark = "cut;";
  const iovec part{const_cast<char*>(mark.data()), mark.size()};
  EXPECT_TRUE(sink.writeCutMark(token, &part, 1)) << "the mark goes below the reserve";
  space_.setAvailable(50 << 20);
  pass(DiskReserve::kRecheckNanos);
  EXPECT_TRUE(sink.write(token, "resumed;"));
  sink.close(token);
  EXPECT_EQ(readFile(pathOf(2)), "first;cut;resumed;");
}

TEST_F(DiskReserveSinkTest, ThePerProcessFileHoldsNothingBelowTheReserve) {
  FilePerProcessSink sink(prefix(), ids_, clock_, DiskReserve::Setting{4 << 20, 0});
  sink.writerForTesting().reserveForTesting().useSourceForTesting(&space_);
  uint64_t id = 3;
  const int token = sink.open(&id, kExtension);
  ASSERT_GE(token, 0);
  ASSERT_TRUE(sink.write(token, "first;"));
  space_.setAvailable(1 << 20);
  pass(DiskReserve::kRecheckNanos);
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(sink.write(token, "refused;"));
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("less than 4194304 bytes free"));
  const std::string mark = "cut;";
  const iovec part{const_cast<char*>(mark.data()), mark.size()};
  EXPECT_TRUE(sink.writeCutMark(token, &part, 1));
  const std::vector<fs::path> files = filesIn(temp_.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(readFile(files[0]), "first;cut;");
}

TEST(DiscardTest, RemovesOnlyAnEmptyRegularFileOfThatName) {
  TempDirectory temp("tapshim_discard");
  ASSERT_FALSE(temp.path().empty());
  TraceIds ids;
  FakeClock clock;
  FilePerTapSink sink((temp.path() / "trace").string(), ids, clock);
  const fs::path empty = temp.path() / "trace_1.pb";
  const fs::path full = temp.path() / "trace_2.pb";
  const fs::path link = temp.path() / "trace_3.pb";
  writeFile(empty, "");
  writeFile(full, "whole");
  fs::create_symlink(empty, link);
  sink.discard(3, ".pb");
  EXPECT_TRUE(fs::is_symlink(link)) << "a symlink is never followed or removed";
  sink.discard(1, ".pb");
  sink.discard(2, ".pb");
  EXPECT_FALSE(fs::exists(empty));
  EXPECT_EQ(readFile(full), "whole");
}

}  // namespace
}  // namespace tapshim::core
