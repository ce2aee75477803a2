// FilePerTapSink on a real directory: Envoy's file names, and the shim's
// own rules for files that hold secrets (0600, never follow or overwrite).
#include "tap_core/sink/file_per_tap_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/temp_directory.h"

namespace tapshim::core {
namespace {

namespace fs = std::filesystem;

using tapshim::testing::readFile;
using tapshim::testing::takeOverFd;
using tapshim::testing::writeFile;

class FilePerTapSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    ids_.setHighForTesting(0x55);
  }

  std::string prefix() const { return (dir_ / "trace").string(); }
  fs::path pathOf(uint64_t id) const { return dir_ / ("trace_" + std::to_string(id) + ".pb"); }

  // Opens, writes `bytes` and closes; returns the id the trace ended up with
  // (or leaves *token at -1).
  uint64_t store(FilePerTapSink& sink, uint64_t id, const std::string& bytes, int* token) {
    *token = sink.open(&id, ".pb");
    if (*token >= 0) {
      EXPECT_TRUE(sink.write(*token, bytes));
      sink.close(*token);
    }
    return id;
  }

  tapshim::testing::TempDirectory temp_{"tapshim_sink"};
  const fs::path& dir_ = temp_.path();
  TraceIds ids_;
  tapshim::testing::FakeClock clock_;
};

TEST_F(FilePerTapSinkTest, WritesPrefixUnderscoreIdDotPb) {
  FilePerTapSink sink(prefix(), ids_, clock_);
  int token = -1;
  EXPECT_EQ(store(sink, 42, std::string("\x1a\x00", 2), &token), 42u);
  ASSERT_GE(token, 0);
  EXPECT_EQ(readFile(pathOf(42)), std::string("\x1a\x00", 2));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(FilePerTapSinkTest, LargestIdIsWrittenInDecimal) {
  FilePerTapSink sink(prefix(), ids_, clock_);
  int token = -1;
  store(sink, UINT64_MAX, "x", &token);
  EXPECT_TRUE(fs::exists(dir_ / "trace_18446744073709551615.pb"));
}

TEST_F(FilePerTapSinkTest, FileModeIsExactly0600WhateverTheUmask) {
  // With umask 0, any extra permission bit would have to come from the shim.
  const mode_t old_umask = umask(0);
  FilePerTapSink sink(prefix(), ids_, clock_);
  int token = -1;
  store(sink, 1, "secret", &token);
  umask(old_umask);
  struct stat info;
  ASSERT_EQ(stat(pathOf(1).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
}

TEST_F(FilePerTapSinkTest, FileIsClosedOnExec) {
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 3;
  const int token = sink.open(&id, ".pb");
  ASSERT_GE(token, 0);
  EXPECT_NE(fcntl(token, F_GETFD) & FD_CLOEXEC, 0);
  sink.close(token);
}

TEST_F(FilePerTapSinkTest, ExistingFileIsNotOverwrittenAndTheTraceMovesToANewId) {
  writeFile(pathOf(42), "someone else's");
  FilePerTapSink sink(prefix(), ids_, clock_);
  int token = -1;
  const uint64_t id = store(sink, 42, "mine", &token);
  ASSERT_GE(token, 0);
  EXPECT_NE(id, 42u);
  EXPECT_EQ(id >> 32, 0x55u);  // a fresh id from the process's TraceIds
  EXPECT_EQ(readFile(pathOf(42)), "someone else's");
  EXPECT_EQ(readFile(pathOf(id)), "mine");
}

TEST_F(FilePerTapSinkTest, SymlinkAtTheNameIsNotFollowed) {
  const fs::path target = dir_ / "target";
  writeFile(target, "untouched");
  fs::create_symlink(target, pathOf(42));
  FilePerTapSink sink(prefix(), ids_, clock_);
  int token = -1;
  const uint64_t id = store(sink, 42, "mine", &token);
  ASSERT_GE(token, 0);
  EXPECT_NE(id, 42u);
  EXPECT_EQ(readFile(target), "untouched");
  EXPECT_TRUE(fs::is_symlink(pathOf(42)));
  EXPECT_EQ(readFile(pathOf(id)), "mine");
}

TEST_F(FilePerTapSinkTest, DanglingSymlinkDoesNotCreateItsTarget) {
  const fs::path target = dir_ / "planted";
  fs::create_symlink(target, pathOf(42));
  FilePerTapSink sink(prefix(), ids_, clock_);
  int token = -1;
  store(sink, 42, "mine", &token);
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(FilePerTapSinkTest, GivesUpWhenEveryNewNameIsTakenToo) {
  writeFile(pathOf(42), "taken");
  for (uint64_t low = 0; low < 64; ++low) writeFile(pathOf((uint64_t{0x55} << 32) | low), "taken");
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 42;
  EXPECT_EQ(sink.open(&id, ".pb"), -1);
  for (const auto& entry : fs::directory_iterator(dir_)) EXPECT_EQ(readFile(entry), "taken");
}

TEST_F(FilePerTapSinkTest, NonexistentDirectoryFailsOpen) {
  FilePerTapSink sink((dir_ / "missing" / "trace").string(), ids_, clock_);
  uint64_t id = 1;
  EXPECT_EQ(sink.open(&id, ".pb"), -1);
  EXPECT_FALSE(fs::exists(dir_ / "missing"));  // no directory is created, as in Envoy
}

TEST_F(FilePerTapSinkTest, DirectoryThatIsAFileFailsOpen) {
  // Tests run as root here, so a chmod'ed directory would still be
  // writable; a path through a regular file cannot be written by anyone.
  writeFile(dir_ / "file", "");
  FilePerTapSink sink((dir_ / "file" / "trace").string(), ids_, clock_);
  uint64_t id = 1;
  EXPECT_EQ(sink.open(&id, ".pb"), -1);
}

TEST_F(FilePerTapSinkTest, UnwritableDirectoryFailsOpen) {
  // Root writes into a 0500 directory anyway; nobody creates files in /proc.
  fs::path directory = "/proc";
  if (geteuid() != 0) {
    directory = dir_ / "ro";
    fs::create_directory(directory);
    fs::permissions(directory, fs::perms::owner_read | fs::perms::owner_exec);
  }
  FilePerTapSink sink((directory / "tapshim_trace").string(), ids_, clock_);
  uint64_t id = 1;
  EXPECT_EQ(sink.open(&id, ".pb"), -1);
  EXPECT_FALSE(fs::exists(directory / "tapshim_trace_1.pb"));
  if (directory != "/proc") fs::permissions(directory, fs::perms::owner_all);
}

TEST_F(FilePerTapSinkTest, TooLongPathFailsOpen) {
  FilePerTapSink sink(std::string(PATH_MAX, 'a'), ids_, clock_);
  uint64_t id = 1;
  EXPECT_EQ(sink.open(&id, ".pb"), -1);
}

// A streamed trace: its file created for the first message, then kept
// open from the second (reopen). Returns the kept token, or -1.
int startStream(FilePerTapSink& sink, uint64_t* id) {
  const int token = sink.open(id, ".pb");
  if (token < 0 || !sink.write(token, "first;")) return -1;
  EXPECT_FALSE(sink.keepsOpen(token)) << "a new file is used once, then reopened";
  sink.close(token);
  return sink.reopen(*id, ".pb");
}

bool fdLimitLeavesRoomAtTheTop() {
  rlimit limit{};
  return getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
         limit.rlim_cur >= 4 * FilePerTapSink::kMaxOpenStreams && limit.rlim_cur <= (1u << 20);
}

TEST_F(FilePerTapSinkTest, StreamedFileIsKeptOpenAtTheTopOfTheFdRange) {
  if (!fdLimitLeavesRoomAtTheTop()) GTEST_SKIP() << "unusual fd limit";
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 5;
  const int token = startStream(sink, &id);
  ASSERT_GE(token, 0);
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  EXPECT_GE(token, static_cast<int>(limit.rlim_cur) - FilePerTapSink::kMaxOpenStreams);
  EXPECT_TRUE(sink.keepsOpen(token));
  EXPECT_TRUE(sink.write(token, "second;"));
  clock_.advanceNanos(KeptFile::kRecheckNanos);  // the recheck finds the same file
  EXPECT_TRUE(sink.write(token, "third;"));
  sink.close(token);
  EXPECT_EQ(readFile(pathOf(id)), "first;second;third;");
}

TEST_F(FilePerTapSinkTest, AKeptFdTheProgramClosesThroughTheHooksNeverReceivesTraceBytes) {
  if (!fdLimitLeavesRoomAtTheTop()) GTEST_SKIP() << "unusual fd limit";
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 6;
  const int token = startStream(sink, &id);
  ASSERT_GE(token, 0);
  sink.programClosing(3, ~0u);  // closefrom(3), as the hooks report it
  EXPECT_FALSE(sink.keepsAnyOf(3, ~0u));
  ASSERT_EQ(takeOverFd(token, dir_ / "programs_own"), token);
  EXPECT_FALSE(sink.write(token, "lost?;")) << "the token is not the sink's any more";
  const int again = sink.reopen(id, ".pb");
  ASSERT_GE(again, 0);
  EXPECT_NE(again, token);
  EXPECT_TRUE(sink.write(again, "second;"));
  sink.close(again);
  EXPECT_EQ(readFile(dir_ / "programs_own"), "");
  EXPECT_EQ(readFile(pathOf(id)), "first;second;");
  ::close(token);  // the program's
}

TEST_F(FilePerTapSinkTest, AKeptFdTakenBehindTheHooksIsFoundOutByTheRecheck) {
  if (!fdLimitLeavesRoomAtTheTop()) GTEST_SKIP() << "unusual fd limit";
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 7;
  const int token = startStream(sink, &id);
  ASSERT_GE(token, 0);
  // A raw close(2) system call: nothing tells the sink.
  ASSERT_EQ(takeOverFd(token, dir_ / "programs_own"), token);
  clock_.advanceNanos(KeptFile::kRecheckNanos);
  EXPECT_FALSE(sink.write(token, "lost?;"));
  EXPECT_EQ(readFile(dir_ / "programs_own"), "");
  ::close(token);
}

TEST_F(FilePerTapSinkTest, ClosingOtherFdsLeavesKeptFilesAlone) {
  if (!fdLimitLeavesRoomAtTheTop()) GTEST_SKIP() << "unusual fd limit";
  FilePerTapSink sink(prefix(), ids_, clock_);
  uint64_t id = 8;
  const int token = startStream(sink, &id);
  ASSERT_GE(token, 0);
  EXPECT_TRUE(sink.keepsAnyOf(3, ~0u));
  EXPECT_TRUE(sink.keepsAnyOf(static_cast<unsigned>(token), static_cast<unsigned>(token)));
  EXPECT_FALSE(sink.keepsAnyOf(0, static_cast<unsigned>(token) - 1));
  EXPECT_FALSE(sink.keepsAnyOf(static_cast<unsigned>(token) + 1, ~0u));
  sink.programClosing(0, static_cast<unsigned>(token) - 1);
  sink.programClosing(static_cast<unsigned>(token) + 1, ~0u);
  EXPECT_TRUE(sink.write(token, "second;"));
  sink.close(token);
  EXPECT_EQ(readFile(pathOf(id)), "first;second;");
}

TEST(FilePerTapSinkPathTest, PrefixIsUsedExactlyAsGiven) {
  TraceIds ids;
  tapshim::testing::FakeClock clock;
  FilePerTapSink sink("/x/", ids, clock);
  char path[64];
  ASSERT_TRUE(sink.pathFor(7, ".pb", path, sizeof(path)));
  EXPECT_STREQ(path, "/x/_7.pb");
  ASSERT_TRUE(sink.pathFor(0, ".pb_text", path, sizeof(path)));
  EXPECT_STREQ(path, "/x/_0.pb_text");
}

TEST(FilePerTapSinkPathTest, PathThatDoesNotFitIsRefused) {
  TraceIds ids;
  tapshim::testing::FakeClock clock;
  FilePerTapSink sink("/x/", ids, clock);
  char path[9];  // "/x/_7.pb" needs 8 plus the NUL
  EXPECT_TRUE(sink.pathFor(7, ".pb", path, sizeof(path)));
  EXPECT_FALSE(sink.pathFor(7, ".pb", path, sizeof(path) - 1));
}

}  // namespace
}  // namespace tapshim::core
