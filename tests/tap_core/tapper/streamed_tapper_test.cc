// StreamedTapper against Envoy's streamed socket tap (envoy-tap-format.md
// 3.3, 3.4), with the oracle cases of Envoy's own unit tests: seq_num one
// counter from 1, advanced by full sizes, the closed event taking the
// counter plus one; per-event cuts; batches; and the streamed-close hex of
// section 5.1.
#include "tap_core/tapper/streamed_tapper.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tap_core/encoder/proto_binary_encoder.h"
#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/fake_sink.h"
#include "tests/tap_core/support/proto_test_util.h"

namespace tapshim::testing {
namespace {

using envoy::data::tap::v3::TraceWrapper;

class StreamedTapperTest : public ::testing::Test {
 protected:
  void start(uint32_t min_streamed_sent_bytes = 0, uint32_t limit = 1024,
             bool per_event_connection = false) {
    context_.clock = &clock_;
    context_.sink = &sink_;
    context_.encoder = &encoder_;
    context_.ids = &ids_;
    context_.streaming = true;
    context_.min_streamed_sent_bytes = min_streamed_sent_bytes;
    context_.max_buffered_rx_bytes = limit;
    context_.max_buffered_tx_bytes = limit;
    context_.connection_per_event = per_event_connection;
    connection_.remote = core::Address::ip("10.0.0.3", 50000);
    connection_.local = core::Address::ip("127.0.0.1", 1000);
    tapper_ = std::make_unique<core::StreamedTapper>(context_, /*trace_id=*/1);
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
  // Every message written so far, parsed (length-delimited framing).
  std::vector<TraceWrapper> messages() {
    std::vector<TraceWrapper> out;
    if (sink_.outputs().empty()) return out;  // nothing written yet
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
    return out;
  }
  std::vector<uint64_t> seqNums() {
    std::vector<uint64_t> out;
    for (const TraceWrapper& message : messages()) {
      const auto& segment = message.socket_streamed_trace_segment();
      if (segment.has_event()) out.push_back(segment.event().seq_num());
      for (const auto& event : segment.events().events()) out.push_back(event.seq_num());
    }
    return out;
  }

  FakeClock clock_;
  FakeSink sink_;
  core::ProtoBinaryEncoder encoder_{/*length_delimited=*/true};
  core::TraceIds ids_;
  core::TapperContext context_;
  core::ConnectionInfo connection_;
  std::unique_ptr<core::StreamedTapper> tapper_;
};

TEST_F(StreamedTapperTest, SeqNumOracleReadHelloWriteWorldClose) {
  start();
  read("hello");
  write("world");
  tapper_->onClose(connection_);
  EXPECT_EQ(seqNums(), (std::vector<uint64_t>{1, 6, 12}));
}

TEST_F(StreamedTapperTest, SeqNumOracleTwoReadsOf53Bytes) {
  start();
  read(std::string(53, 'a'));
  read(std::string(53, 'b'));
  tapper_->onClose(connection_);
  EXPECT_EQ(seqNums(), (std::vector<uint64_t>{1, 54, 108}));
}

TEST_F(StreamedTapperTest, FirstSegmentCarriesTheConnectionThenOneMessagePerEvent) {
  start();
  read("hello");
  write("world");
  tapper_->onClose(connection_);
  const std::vector<TraceWrapper> all = messages();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_THAT(all[0], EqualsProto(R"pb(
                socket_streamed_trace_segment {
                  trace_id: 1
                  connection {
                    local_address { socket_address { address: "127.0.0.1" port_value: 1000 } }
                    remote_address { socket_address { address: "10.0.0.3" port_value: 50000 } }
                  }
                })pb"));
  EXPECT_TRUE(all[1].socket_streamed_trace_segment().event().has_read());
  EXPECT_TRUE(all[2].socket_streamed_trace_segment().event().has_write());
  EXPECT_TRUE(all[3].socket_streamed_trace_segment().event().has_closed());
  EXPECT_TRUE(sink_.outputs()[0].closed);
}

TEST_F(StreamedTapperTest, EachEventIsCutToTheLimitOnItsOwn) {
  start(/*min_streamed_sent_bytes=*/0, /*limit=*/4);
  read("hello");
  read("hi");
  read("again");
  tapper_->onClose(connection_);
  std::vector<std::pair<std::string, bool>> events;
  for (const TraceWrapper& message : messages()) {
    const auto& event = message.socket_streamed_trace_segment().event();
    if (event.has_read())
      events.emplace_back(event.read().data().as_bytes(), event.read().data().truncated());
  }
  EXPECT_EQ(events, (std::vector<std::pair<std::string, bool>>{
                        {"hell", true}, {"hi", false}, {"agai", true}}));
  // seq_num still counts every byte.
  EXPECT_EQ(seqNums(), (std::vector<uint64_t>{1, 6, 8, 14}));
}

TEST_F(StreamedTapperTest, BatchesWholeEventsUntilTheThresholdAndAtClose) {
  start(/*min_streamed_sent_bytes=*/8, /*limit=*/2);
  read("hello");   // 5 waiting
  write("world");  // 10 >= 8: sent
  read("x");
  tapper_->onClose(connection_);  // with the closed event
  const std::vector<TraceWrapper> all = messages();
  ASSERT_EQ(all.size(), 3u);
  const auto& first = all[1].socket_streamed_trace_segment().events();
  ASSERT_EQ(first.events_size(), 2);
  EXPECT_EQ(first.events(0).read().data().as_bytes(), "hello");  // limits ignored
  EXPECT_EQ(first.events(1).write().data().as_bytes(), "world");
  const auto& last = all[2].socket_streamed_trace_segment().events();
  ASSERT_EQ(last.events_size(), 2);
  EXPECT_TRUE(last.events(1).has_closed());
  EXPECT_EQ(seqNums(), (std::vector<uint64_t>{1, 6, 11, 13}));
}

TEST_F(StreamedTapperTest, BatchOlderThanFifteenWholeSecondsIsSent) {
  start(/*min_streamed_sent_bytes=*/1000);
  clock_.setSeconds(100);
  read("a");
  clock_.setSeconds(114);
  read("b");                         // 14 s: waits
  EXPECT_EQ(messages().size(), 0u);  // the first segment goes with the first batch
  clock_.setSeconds(115);
  read("c");  // 15 s after the first: sent
  ASSERT_EQ(messages().size(), 2u);
  EXPECT_EQ(messages()[1].socket_streamed_trace_segment().events().events_size(), 3);
}

TEST_F(StreamedTapperTest, ConnectionPerEventIsOnEveryEvent) {
  start(/*min_streamed_sent_bytes=*/0, /*limit=*/1024, /*per_event_connection=*/true);
  read("hello");
  tapper_->onClose(connection_);
  const std::vector<TraceWrapper> all = messages();
  ASSERT_EQ(all.size(), 3u);
  for (int i : {1, 2}) {
    EXPECT_EQ(all[i]
                  .socket_streamed_trace_segment()
                  .event()
                  .connection()
                  .remote_address()
                  .socket_address()
                  .port_value(),
              50000u);
  }
}

TEST_F(StreamedTapperTest, StreamedCloseEncodesAsEnvoysHex) {
  // envoy-tap-format.md 5.1: {trace_id 1, event{ts 2 s, closed{}, seq_num 12}}.
  core::ProtoBinaryEncoder binary;
  core::EventView closed;
  closed.timestamp_ns = 2000000000;
  closed.kind = core::EventKind::kClosed;
  closed.seq_num = 12;
  core::SegmentData segment;
  segment.trace_id = 1;
  segment.piece = core::SegmentData::Piece::kEvent;
  segment.event = &closed;
  core::ByteBuffer out;
  ASSERT_TRUE(binary.encodeSegment(segment, &out));
  EXPECT_EQ(hex(out.view()), "220c08011a080a0208022200300c");
}

TEST_F(StreamedTapperTest, TlsRecordsHeldAtTheStartAreDroppedWhenTlsIsFound) {
  start();
  read("\x16\x03\x01 a ClientHello");
  tapper_->onTlsStarted();
  read("plaintext");
  tapper_->onClose(connection_);
  const std::vector<TraceWrapper> all = messages();
  ASSERT_EQ(all.size(), 3u);  // connection, the plaintext read, closed
  EXPECT_EQ(all[1].socket_streamed_trace_segment().event().read().data().as_bytes(), "plaintext");
  EXPECT_EQ(seqNums(), (std::vector<uint64_t>{1, 11}));
}

TEST_F(StreamedTapperTest, HeldEventsAreSentAtCloseWhenTlsNeverCame) {
  start();
  read("\x16\x03\x01 looks like TLS");
  write("but is not");
  EXPECT_EQ(messages().size(), 0u);  // held, and the first segment with them
  tapper_->onClose(connection_);
  const std::vector<TraceWrapper> all = messages();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[2].socket_streamed_trace_segment().event().write().data().as_bytes(), "but is not");
}

TEST_F(StreamedTapperTest, HandedOverWithNothingRecordedWritesNothing) {
  // A forking server's parent: accepted, forked, closed its copy.
  start();
  tapper_->onHandedOver(connection_);
  EXPECT_EQ(sink_.openCalls(), 0);
}

TEST_F(StreamedTapperTest, HandedOverAfterDataWritesTheWholeTrace) {
  start();
  read("request");
  tapper_->onHandedOver(connection_);
  const std::vector<TraceWrapper> all = messages();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(all[0].socket_streamed_trace_segment().has_connection());
  EXPECT_EQ(all[1].socket_streamed_trace_segment().event().read().data().as_bytes(), "request");
  EXPECT_TRUE(all[2].socket_streamed_trace_segment().event().has_closed());
}

TEST_F(StreamedTapperTest, FirstSegmentGoesOutWithTheFirstEvent) {
  start();
  EXPECT_EQ(sink_.openCalls(), 0);  // established, nothing moved yet
  write("x");
  const std::vector<TraceWrapper> all = messages();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]
                .socket_streamed_trace_segment()
                .connection()
                .local_address()
                .socket_address()
                .port_value(),
            1000u);
}

}  // namespace
}  // namespace tapshim::testing
