// FilePerProcessSink on a real directory: one file per process, created at
// the first message (0600, never following or overwriting), whole messages
// from concurrent threads never interleaved, and a forked child's own file.
#include "tap_core/sink/file_per_process_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/temp_directory.h"

namespace tapshim::core {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kExtension = ".pb_length_delimited";

using tapshim::testing::readFile;
using tapshim::testing::takeOverFd;
using tapshim::testing::writeFile;

class FilePerProcessSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    ids_.setHighForTesting(0x77);
  }

  std::string prefix() const { return (dir_ / "trace").string(); }
  fs::path pathOf(uint64_t id) const {
    return dir_ / ("trace_" + std::to_string(id) + std::string(kExtension));
  }
  static uint64_t idOf(uint32_t low) { return (uint64_t{0x77} << 32) | low; }
  std::vector<fs::path> files() const {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(dir_)) found.push_back(entry.path());
    return found;
  }

  // What a tapper does with one buffered trace.
  static bool store(FilePerProcessSink& sink, uint64_t trace_id, const std::string& bytes) {
    const int token = sink.open(&trace_id, kExtension);
    if (token < 0) return false;
    const bool written = sink.write(token, bytes);
    sink.close(token);
    return written;
  }

  tapshim::testing::TempDirectory temp_{"tapshim_process_sink"};
  const fs::path& dir_ = temp_.path();
  TraceIds ids_;
  tapshim::testing::FakeClock clock_;
};

TEST_F(FilePerProcessSinkTest, NoFileBeforeTheFirstMessage) {
  FilePerProcessSink sink(prefix(), ids_, clock_);
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(sink.fdForTesting(), -1);
}

TEST_F(FilePerProcessSinkTest, EveryTraceGoesToOneFileNamedByAFreshId) {
  FilePerProcessSink sink(prefix(), ids_, clock_);
  for (uint64_t trace = 100; trace < 110; ++trace) {
    uint64_t id = trace;
    const int token = sink.open(&id, kExtension);
    EXPECT_EQ(token, FilePerProcessSink::kToken);
    EXPECT_EQ(id, trace);  // the trace keeps its own id
    char text[32];
    snprintf(text, sizeof(text), "m%llu;", static_cast<unsigned long long>(trace));
    EXPECT_TRUE(sink.write(token, text));
    sink.close(token);  // does not close the shared file
  }
  ASSERT_EQ(files().size(), 1u);
  // The file's id is the first the process's TraceIds hands out.
  EXPECT_EQ(sink.fileIdForTesting(), idOf(0));
  EXPECT_EQ(readFile(pathOf(idOf(0))), "m100;m101;m102;m103;m104;m105;m106;m107;m108;m109;");
  EXPECT_GE(fcntl(sink.fdForTesting(), F_GETFD), 0);
  // A trace id drawn later never names this file.
  EXPECT_NE(ids_.next(), idOf(0));
}

TEST_F(FilePerProcessSinkTest, FileIsExactly0600WhateverTheUmaskAndClosedOnExec) {
  const mode_t old_umask = umask(0);
  FilePerProcessSink sink(prefix(), ids_, clock_);
  ASSERT_TRUE(store(sink, 1, "secret"));
  umask(old_umask);
  struct stat info;
  ASSERT_EQ(stat(pathOf(idOf(0)).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_NE(fcntl(sink.fdForTesting(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(fcntl(sink.fdForTesting(), F_GETFL) & O_APPEND, 0);
}

TEST_F(FilePerProcessSinkTest, FdIsMovedToTheTopOfTheFdRange) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < 64 || limit.rlim_cur > (1u << 20)) GTEST_SKIP() << "unusual fd limit";
  FilePerProcessSink sink(prefix(), ids_, clock_);
  ASSERT_TRUE(store(sink, 1, "x"));
  EXPECT_GE(sink.fdForTesting(),
            static_cast<int>(limit.rlim_cur) - FilePerProcessSink::kTopDistance);
}

TEST_F(FilePerProcessSinkTest, ExistingFileOrSymlinkIsNeverOverwrittenOrFollowed) {
  writeFile(pathOf(idOf(0)), "someone else's");
  const fs::path target = dir_ / "target";
  writeFile(target, "untouched");
  fs::create_symlink(target, pathOf(idOf(1)));
  FilePerProcessSink sink(prefix(), ids_, clock_);
  ASSERT_TRUE(store(sink, 5, "mine"));
  EXPECT_EQ(sink.fileIdForTesting(), idOf(2));
  EXPECT_EQ(readFile(pathOf(idOf(0))), "someone else's");
  EXPECT_EQ(readFile(target), "untouched");
  EXPECT_EQ(readFile(pathOf(idOf(2))), "mine");
}

TEST_F(FilePerProcessSinkTest, NonexistentDirectoryFailsOpenAndCreatesNothing) {
  FilePerProcessSink sink((dir_ / "missing" / "trace").string(), ids_, clock_);
  uint64_t id = 1;
  EXPECT_EQ(sink.open(&id, kExtension), -1);
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

TEST_F(FilePerProcessSinkTest, TooLongPathFailsOpen) {
  FilePerProcessSink sink(std::string(5000, 'a'), ids_, clock_);
  uint64_t id = 1;
  EXPECT_EQ(sink.open(&id, kExtension), -1);
}

// Each message: "<thread>:<index>:<length>:" then `length` copies of one
// letter, then '\n'. Sizes go past a page and up to 256 KiB, so that an
// interleaving write would show.
std::string message(int thread, int index) {
  const size_t length = (static_cast<size_t>(index) * 7919 + static_cast<size_t>(thread) * 104729) %
                        (index % 16 == 0 ? 262144 : 3000);
  char header[64];
  snprintf(header, sizeof(header), "%d:%d:%zu:", thread, index, length);
  std::string text(header);
  text.append(length, static_cast<char>('a' + (thread + index) % 26));
  text += '\n';
  return text;
}

TEST_F(FilePerProcessSinkTest, ConcurrentThreadsNeverInterleaveAMessage) {
  WallClock clock;  // FakeClock counts calls without a lock
  FilePerProcessSink sink(prefix(), ids_, clock);
  constexpr int kThreads = 8;
  constexpr int kMessages = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&sink, t] {
      for (int i = 0; i < kMessages; ++i) {
        uint64_t id = static_cast<uint64_t>(t) * 1000 + static_cast<uint64_t>(i);
        const int token = sink.open(&id, kExtension);
        ASSERT_GE(token, 0);
        ASSERT_TRUE(sink.write(token, message(t, i)));
        sink.close(token);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(files().size(), 1u);
  const std::string contents = readFile(files()[0]);
  std::map<int, int> next_index;  // per thread, messages arrive in order
  size_t position = 0;
  int count = 0;
  while (position < contents.size()) {
    const size_t first = contents.find(':', position);
    const size_t second = contents.find(':', first + 1);
    const size_t third = contents.find(':', second + 1);
    ASSERT_NE(third, std::string::npos) << "at " << position;
    const int thread = std::stoi(contents.substr(position, first - position));
    const int index = std::stoi(contents.substr(first + 1, second - first - 1));
    const std::string expected = message(thread, index);
    ASSERT_EQ(contents.compare(position, expected.size(), expected), 0)
        << "message " << thread << ":" << index << " is not whole at offset " << position;
    EXPECT_EQ(index, next_index[thread]++);
    position += expected.size();
    ++count;
  }
  EXPECT_EQ(count, kThreads * kMessages);
}

TEST_F(FilePerProcessSinkTest, AFdTheProgramClosesThroughTheHooksNeverReceivesTraceBytes) {
  FilePerProcessSink sink(prefix(), ids_, clock_);
  ASSERT_TRUE(store(sink, 1, "one;"));
  const int fd = sink.fdForTesting();
  sink.programClosing(3, ~0u);  // closefrom(3), as the hooks report it
  EXPECT_FALSE(sink.keepsAnyOf(3, ~0u));
  ASSERT_EQ(takeOverFd(fd, dir_ / "programs_own"), fd);
  ASSERT_TRUE(store(sink, 2, "two;"));  // no time passed: no fstat needed
  EXPECT_EQ(readFile(dir_ / "programs_own"), "");
  EXPECT_EQ(readFile(pathOf(idOf(0))), "one;two;");  // the same file, by name
  EXPECT_NE(sink.fdForTesting(), fd);
  ::close(fd);  // the program's
  ::close(sink.fdForTesting());
}

TEST_F(FilePerProcessSinkTest, AFdTakenBehindTheHooksIsFoundOutByTheRecheck) {
  FilePerProcessSink sink(prefix(), ids_, clock_);
  ASSERT_TRUE(store(sink, 1, "one;"));
  const int fd = sink.fdForTesting();
  // A raw close_range(2) system call: nothing tells the sink.
  ASSERT_EQ(takeOverFd(fd, dir_ / "programs_own"), fd);
  clock_.advanceNanos(KeptFile::kRecheckNanos);
  ASSERT_TRUE(store(sink, 2, "two;"));
  EXPECT_EQ(readFile(dir_ / "programs_own"), "");
  EXPECT_EQ(readFile(pathOf(idOf(0))), "one;two;");
  EXPECT_NE(sink.fdForTesting(), fd);
  ::close(fd);
  ::close(sink.fdForTesting());
}

TEST_F(FilePerProcessSinkTest, ClosingOtherFdsLeavesTheFileAlone) {
  FilePerProcessSink sink(prefix(), ids_, clock_);
  ASSERT_TRUE(store(sink, 1, "one;"));
  const int fd = sink.fdForTesting();
  EXPECT_TRUE(sink.keepsAnyOf(static_cast<unsigned>(fd), static_cast<unsigned>(fd)));
  EXPECT_FALSE(sink.keepsAnyOf(0, static_cast<unsigned>(fd) - 1));
  EXPECT_FALSE(sink.keepsAnyOf(static_cast<unsigned>(fd) + 1, ~0u));
  sink.programClosing(0, static_cast<unsigned>(fd) - 1);
  sink.programClosing(static_cast<unsigned>(fd) + 1, ~0u);
  ASSERT_TRUE(store(sink, 2, "two;"));
  EXPECT_EQ(sink.fdForTesting(), fd);
  EXPECT_EQ(readFile(pathOf(idOf(0))), "one;two;");
  ::close(fd);
}

TEST_F(FilePerProcessSinkTest, AForkedChildStartsAFileOfItsOwn) {
  FilePerProcessSink sink(prefix(), ids_, clock_);
  ASSERT_TRUE(store(sink, 1, "parent before;"));
  const int parent_fd = sink.fdForTesting();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // What the shim's atfork handler does.
    ids_.setHighForTesting(0x88);
    sink.forgetAfterFork();
    // The child's copy of the parent's fd is closed.
    const bool closed = fcntl(parent_fd, F_GETFD) == -1;
    const bool stored = store(sink, 2, "child;");
    _exit(closed && stored ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(store(sink, 3, "parent after;"));
  EXPECT_EQ(sink.fdForTesting(), parent_fd);
  EXPECT_EQ(readFile(pathOf(idOf(0))), "parent before;parent after;");
  EXPECT_EQ(
      readFile(dir_ / ("trace_" + std::to_string(uint64_t{0x88} << 32) + std::string(kExtension))),
      "child;");
  EXPECT_EQ(files().size(), 2u);
}

}  // namespace
}  // namespace tapshim::core
