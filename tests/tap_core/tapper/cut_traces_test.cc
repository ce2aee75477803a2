// Traces cut by the file system (a FakeSink that refuses as the file sinks
// do): a buffered trace larger than the room under the file size limit is
// cut to fit and flagged, one that cannot be written whole leaves no file;
// a streamed trace that loses messages says where with a gap event, tries
// again only after a pause, and resumes when space returns.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tap_core/encoder/json_encoder.h"
#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/tapper/buffered_tapper.h"
#include "tap_core/tapper/streamed_tapper.h"
#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/fake_sink.h"
#include "tests/tap_core/support/proto_test_util.h"

namespace tapshim::testing {
namespace {

using envoy::data::tap::v3::TraceWrapper;

constexpr uint64_t kMarkRoom = 1024;  // what the file sinks keep back for a cut mark
constexpr int64_t kMillisecond = 1'000'000;

class CutTracesTest : public ::testing::Test {
 protected:
  CutTracesTest() {
    context_.clock = &clock_;
    context_.sink = &sink_;
    context_.ids = &ids_;
    connection_.local = core::Address::ip("127.0.0.1", 1000);
    connection_.remote = core::Address::ip("10.0.0.3", 50000);
  }

  void buffered(const core::TraceEncoder& encoder, uint32_t limit) {
    context_.encoder = &encoder;
    context_.max_buffered_rx_bytes = limit;
    context_.max_buffered_tx_bytes = limit;
    tapper_ = std::make_unique<core::BufferedTapper>(context_, /*trace_id=*/7);
  }
  void streamed(uint32_t min_streamed_sent_bytes = 0) {
    context_.encoder = &delimited_;
    context_.streaming = true;
    context_.min_streamed_sent_bytes = min_streamed_sent_bytes;
    tapper_ = std::make_unique<core::StreamedTapper>(context_, /*trace_id=*/7);
    tapper_->onEstablished(connection_);
  }
  void read(std::string_view data) {
    iovec slice{const_cast<char*>(data.data()), data.size()};
    tapper_->onRead(core::IoSlices(&slice, 1, data.size()));
  }
  void write(std::string_view data) {
    iovec slice{const_cast<char*>(data.data()), data.size()};
    tapper_->onWrite(core::IoSlices(&slice, 1, data.size()));
  }
  void close() { tapper_->onClose(connection_); }

  // The streamed messages of the only output (length-delimited).
  std::vector<TraceWrapper> segments() const {
    std::vector<TraceWrapper> out;
    if (sink_.outputs().empty()) return out;
    const std::string& bytes = sink_.outputs().at(0).bytes;
    google::protobuf::io::ArrayInputStream stream(bytes.data(), static_cast<int>(bytes.size()));
    google::protobuf::io::CodedInputStream coded(&stream);
    uint32_t size;
    while (coded.ReadVarint32(&size)) {
      std::string message;
      EXPECT_TRUE(coded.ReadString(&message, static_cast<int>(size)));
      out.emplace_back();
      EXPECT_TRUE(out.back().ParseFromString(message));
    }
    EXPECT_EQ(coded.CurrentPosition(), static_cast<int>(bytes.size())) << "a record is cut";
    return out;
  }
  // Each streamed event as "read:<data>", "write:<data>", "read:GAP",
  // "closed".
  std::vector<std::string> events() const {
    std::vector<std::string> out;
    for (const TraceWrapper& wrapper : segments()) {
      const auto& segment = wrapper.socket_streamed_trace_segment();
      std::vector<const envoy::data::tap::v3::SocketEvent*> all;
      if (segment.has_event()) all.push_back(&segment.event());
      for (const auto& event : segment.events().events()) all.push_back(&event);
      for (const auto* event : all) {
        if (event->has_closed()) {
          out.push_back("closed");
          continue;
        }
        const bool is_read = event->has_read();
        const auto& body = is_read ? event->read().data() : event->write().data();
        const std::string kind = is_read ? "read:" : "write:";
        out.push_back(kind +
                      (body.truncated() && body.as_bytes().empty() ? "GAP" : body.as_bytes()));
      }
    }
    return out;
  }

  FakeClock clock_{1000 * FakeClock::kSecond};
  FakeSink sink_;
  core::TraceIds ids_;
  core::ProtoBinaryEncoder binary_{/*length_delimited=*/false};
  core::ProtoBinaryEncoder delimited_{/*length_delimited=*/true};
  core::JsonEncoder json_{/*body_as_string=*/false};
  core::TapperContext context_;
  core::ConnectionInfo connection_;
  std::unique_ptr<core::PerSocketTapper> tapper_;
};

// --- buffered ---------------------------------------------------------------

TEST_F(CutTracesTest, ABufferedTraceLargerThanTheRoomIsCutToFitAndFlagged) {
  // curl under `ulimit -f 20` with a raised read limit: 100 KB received.
  buffered(binary_, 1 << 20);
  sink_.limitOutputsTo(20 * 1024, kMarkRoom);
  write("GET / HTTP/1.1\r\n\r\n");
  const std::string body(100 * 1000, 'x');
  for (size_t at = 0; at < body.size(); at += 16384) read(body.substr(at, 16384));
  close();
  ASSERT_EQ(sink_.outputs().size(), 1u);
  const FakeSink::Output& output = sink_.outputs()[0];
  EXPECT_FALSE(output.discarded);
  EXPECT_LE(output.bytes.size(), 20 * 1024 - kMarkRoom);
  // The events dropped whole take their framing along: a little more goes.
  EXPECT_GT(output.bytes.size(), 20 * 1024 - kMarkRoom - 300) << "cut no more than needed";
  const TraceWrapper trace = parseTrace(output.bytes);
  const auto& buffered = trace.socket_buffered_trace();
  EXPECT_TRUE(buffered.read_truncated());
  EXPECT_FALSE(buffered.write_truncated()) << "every write was kept";
  ASSERT_GE(buffered.events_size(), 2);
  EXPECT_EQ(buffered.events(0).write().data().as_bytes(), "GET / HTTP/1.1\r\n\r\n");
  std::string received;
  for (const auto& event : buffered.events()) received += event.read().data().as_bytes();
  EXPECT_EQ(received, body.substr(0, received.size())) << "the oldest bytes are kept";
  EXPECT_TRUE(buffered.events(buffered.events_size() - 1).read().data().truncated());
}

TEST_F(CutTracesTest, JsonIsCutToFitToo) {
  buffered(json_, 1 << 20);
  sink_.limitOutputsTo(8 * 1024, kMarkRoom);
  for (int i = 0; i < 20; ++i) read(std::string(1000, static_cast<char>('a' + i)));
  write("bye");
  close();
  ASSERT_EQ(sink_.outputs().size(), 1u);
  const std::string& json = sink_.outputs()[0].bytes;
  EXPECT_LE(json.size(), 8 * 1024 - kMarkRoom);
  TraceWrapper trace;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &trace).ok()) << json;
  EXPECT_TRUE(trace.socket_buffered_trace().read_truncated());
  EXPECT_TRUE(trace.socket_buffered_trace().write_truncated()) << "the write came after the cut";
}

TEST_F(CutTracesTest, ABufferedTraceThatFitsIsUntouched) {
  buffered(binary_, 1 << 20);
  sink_.limitOutputsTo(20 * 1024, kMarkRoom);
  read("small");
  close();
  const TraceWrapper trace = parseTrace(sink_.outputs().at(0).bytes);
  EXPECT_FALSE(trace.socket_buffered_trace().read_truncated());
  EXPECT_EQ(trace.socket_buffered_trace().events(0).read().data().as_bytes(), "small");
}

TEST_F(CutTracesTest, ABufferedTraceThatCannotBeWrittenLeavesNoFile) {
  buffered(binary_, 1 << 20);
  sink_.failWrites(true);  // a full disk
  read(std::string(5000, 'x'));
  close();
  ASSERT_EQ(sink_.outputs().size(), 1u);
  EXPECT_TRUE(sink_.outputs()[0].discarded);
}

TEST_F(CutTracesTest, ABufferedTraceWithNoRoomEvenEmptyLeavesNoFile) {
  buffered(binary_, 1 << 20);
  sink_.limitOutputsTo(kMarkRoom + 10, kMarkRoom);
  read(std::string(5000, 'x'));
  close();
  ASSERT_EQ(sink_.outputs().size(), 1u);
  EXPECT_TRUE(sink_.outputs()[0].discarded);
  EXPECT_TRUE(sink_.outputs()[0].closed);
}

// --- streamed ---------------------------------------------------------------

TEST_F(CutTracesTest, AStreamedTraceMarksWhereItWasCutAndResumes) {
  streamed();
  read("one");
  sink_.failWrites(true, /*also_marks=*/false);  // the disk reserve: marks still go
  write("lost");
  clock_.advanceNanos(core::StreamedTapper::kRetryNanos);
  read("lost too");
  sink_.failWrites(false);  // space returned
  read("not tried yet");    // within the pause after the last failure
  clock_.advanceNanos(core::StreamedTapper::kRetryNanos);
  read("two");
  close();
  EXPECT_EQ(events(),
            (std::vector<std::string>{"read:one", "write:GAP", "read:GAP", "read:two", "closed"}));
  EXPECT_EQ(sink_.outputs()[0].cut_marks, 2);
}

TEST_F(CutTracesTest, OnAFullDiskTheMarkWaitsForTheNextMessageThatGoes) {
  streamed();
  read("one");
  sink_.failWrites(true);  // nothing goes, marks neither
  write("lost");
  const int failed = sink_.failedWrites();
  for (int i = 0; i < 100; ++i) write("lost in the pause");
  EXPECT_EQ(sink_.failedWrites(), failed) << "no try per event during the pause";
  sink_.failWrites(false);
  clock_.advanceNanos(core::StreamedTapper::kRetryNanos);
  read("two");
  close();
  EXPECT_EQ(events(), (std::vector<std::string>{"read:one", "write:GAP", "read:two", "closed"}));
}

TEST_F(CutTracesTest, AtTheFileSizeLimitOneMarkEndsTheTrace) {
  streamed();
  sink_.limitOutputsTo(3000, kMarkRoom);
  for (int i = 0; i < 40; ++i) {
    read(std::string(100, 'r'));
    clock_.advanceNanos(50 * kMillisecond);
  }
  close();  // no room for the closed event: the mark is the end
  const std::vector<std::string> all = events();
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(all.back(), "read:GAP");
  for (size_t i = 0; i + 1 < all.size(); ++i) EXPECT_EQ(all[i], "read:" + std::string(100, 'r'));
  EXPECT_EQ(sink_.outputs()[0].cut_marks, 1) << "one cut, one mark";
  EXPECT_LE(sink_.outputs()[0].bytes.size(), 3000u);
}

TEST_F(CutTracesTest, AClockThatWentBackEndsThePause) {
  streamed();
  read("one");
  sink_.failWrites(true);
  write("lost");
  sink_.failWrites(false);
  clock_.advanceNanos(-FakeClock::kSecond);  // the wall clock was set back
  read("two");
  close();
  EXPECT_EQ(events(), (std::vector<std::string>{"read:one", "write:GAP", "read:two", "closed"}));
}

TEST_F(CutTracesTest, ALostBatchMarksEveryDirectionItHeld) {
  streamed(/*min_streamed_sent_bytes=*/10);
  read("12345");
  write("67890");  // the first batch, with the connection
  sink_.failWrites(true, /*also_marks=*/false);
  read("aaaaa");
  write("bbbbb");  // the second batch is due: refused
  sink_.failWrites(false);
  clock_.advanceNanos(core::StreamedTapper::kRetryNanos);
  read("abcdefghij");
  close();
  EXPECT_EQ(events(), (std::vector<std::string>{"read:12345", "write:67890", "read:GAP",
                                                "write:GAP", "read:abcdefghij", "closed"}));
}

TEST_F(CutTracesTest, AStreamedTraceWhoseFirstMessageFailsLeavesNoFileAndTriesNoMore) {
  streamed();
  sink_.failWrites(true);
  read("one");
  const int failed = sink_.failedWrites();
  sink_.failWrites(false);
  clock_.advanceNanos(core::StreamedTapper::kRetryNanos);
  read("two");
  close();
  ASSERT_EQ(sink_.outputs().size(), 1u);
  EXPECT_TRUE(sink_.outputs()[0].discarded);
  EXPECT_EQ(sink_.failedWrites(), failed);
  EXPECT_EQ(sink_.openCalls(), 1);
}

}  // namespace
}  // namespace tapshim::testing
