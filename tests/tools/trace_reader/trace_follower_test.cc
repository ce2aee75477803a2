#include "tools/trace_reader/trace_follower.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "tests/tools/trace_builder.h"
#include "tools/trace_reader/trace_events.h"

namespace tapshim::tap2pcap {
namespace {

using testing::encodeTraces;
using testing::TraceWrapper;
using testing::writeEvent;

TraceWrapper segment(uint64_t id, const std::string& data) {
  TraceWrapper wrapper;
  wrapper.mutable_socket_streamed_trace_segment()->set_trace_id(id);
  *wrapper.mutable_socket_streamed_trace_segment()->mutable_event() =
      writeEvent(1'700'000'000'000'000'000, data);
  return wrapper;
}

struct Seen {
  size_t file;
  std::string path;
  std::string data;
};

class Recorder : public TraceFollower::Listener {
 public:
  void onRecord(size_t file, const std::string& path, const TraceWrapper& wrapper) override {
    for (const TapEvent& event : eventsOf(wrapper)) records.push_back({file, path, event.data});
  }
  bool onLookEnd() override {
    ++looks;
    return true;
  }
  std::vector<Seen> records;
  int looks = 0;
};

class TraceFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/trace-follower-test-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  void append(const std::string& name, const std::string& bytes) {
    std::ofstream out(dir_ + "/" + name, std::ios::binary | std::ios::app);
    out << bytes;
  }

  std::string dir_;
  std::vector<std::string> problems_;
  TraceFollower::Reporter reporter_ = [this](const std::string& line) {
    problems_.push_back(line);
  };
};

TEST_F(TraceFollowerTest, ReadsFilesThatAppearAndGrowThenStopsAtTheDeadline) {
  const auto format = TraceFormat::kProtoLengthDelimited;
  append("a.pb_length_delimited", encodeTraces({segment(1, "one")}, format));
  append("ignored.txt", "not a trace name");
  Recorder recorder;
  TraceFollower follower(ConnectionNumbering::kDetect, &recorder, reporter_);
  ASSERT_TRUE(follower.addInput(dir_));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::string two = encodeTraces({segment(1, "two")}, format);
    append("a.pb_length_delimited", two.substr(0, 3));  // half a record
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    append("a.pb_length_delimited", two.substr(3));
    append("b.json", encodeTraces({segment(2, "three")}, TraceFormat::kJson));
  });
  const auto start = std::chrono::steady_clock::now();
  follower.run(-1, start + std::chrono::milliseconds(1200));
  writer.join();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1200));
  ASSERT_EQ(recorder.records.size(), 3u);
  EXPECT_EQ(recorder.records[0].data, "one");
  EXPECT_EQ(recorder.records[1].data, "two");
  EXPECT_EQ(recorder.records[2].data, "three");
  EXPECT_EQ(recorder.records[1].file, recorder.records[0].file);
  EXPECT_NE(recorder.records[2].file, recorder.records[0].file);
  EXPECT_EQ(recorder.records[2].path, dir_ + "/b.json");
  EXPECT_TRUE(problems_.empty());
  // No busy loop: a look every 100 ms at most, plus those inotify wakes.
  EXPECT_LT(recorder.looks, 40);
}

TEST_F(TraceFollowerTest, ProblemsAreSaidOnceAndTheRestGoesOn) {
  append("good.pb_length_delimited",
         encodeTraces({segment(1, "fine")}, TraceFormat::kProtoLengthDelimited));
  append("junk.pb", "junk");
  append("cut.pb_length_delimited",
         encodeTraces({segment(2, "cut")}, TraceFormat::kProtoLengthDelimited).substr(0, 5));
  Recorder recorder;
  TraceFollower follower(ConnectionNumbering::kDetect, &recorder, reporter_);
  EXPECT_FALSE(follower.addInput(dir_ + "/missing"));
  EXPECT_FALSE(follower.addInput(dir_ + "/notes.txt.xyz"));
  ASSERT_TRUE(follower.addInput(dir_));
  int stop[2];
  ASSERT_EQ(pipe(stop), 0);
  ASSERT_EQ(write(stop[1], "x", 1), 1);  // stop at once: the last look still reads all
  follower.run(stop[0], std::nullopt);
  close(stop[0]);
  close(stop[1]);
  ASSERT_EQ(recorder.records.size(), 1u);
  EXPECT_EQ(recorder.records[0].data, "fine");
  ASSERT_EQ(problems_.size(), 4u) << ::testing::PrintToString(problems_);
  EXPECT_EQ(problems_[0], dir_ + "/missing: cannot follow: No such file or directory");
  EXPECT_EQ(problems_[1].rfind(dir_ + "/notes.txt.xyz: cannot follow", 0), 0u);
  EXPECT_EQ(problems_[2].rfind(dir_ + "/junk.pb: not a socket trace", 0), 0u) << problems_[2];
  EXPECT_EQ(problems_[3], dir_ +
                              "/cut.pb_length_delimited: its last 5 bytes are a record not "
                              "yet complete, not shown");
}

}  // namespace
}  // namespace tapshim::tap2pcap
