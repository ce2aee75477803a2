// BufferedTapper follows Envoy's buffered socket tap (envoy-tap-format.md
// 3.2). Each test is one scenario: drive the tapper, decode what reached
// the sink with libprotobuf, and compare with the expected message.
#include "tap_core/tapper/buffered_tapper.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tap_core/encoder/proto_binary_encoder.h"
#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/fake_sink.h"
#include "tests/tap_core/support/proto_test_util.h"

namespace tapshim::testing {
namespace {

using core::Address;
using core::Direction;

// The connection every scenario closes with, as Envoy's unit test uses.
constexpr std::string_view kConnectionText = R"(
  connection {
    local_address { socket_address { address: "127.0.0.1" port_value: 1000 } }
    remote_address { socket_address { address: "10.0.0.3" port_value: 50000 } }
  })";

// "socket_buffered_trace { trace_id: 7 <connection> <body> }"
std::string expectedTrace(std::string_view body, uint64_t trace_id = 7) {
  return "socket_buffered_trace { trace_id: " + std::to_string(trace_id) + " " +
         std::string(kConnectionText) + " " + std::string(body) + " }";
}

class BufferedTapperTest : public ::testing::Test {
 protected:
  BufferedTapperTest() {
    context_.clock = &clock_;
    context_.sink = &sink_;
    context_.encoder = &encoder_;
    context_.ids = &ids_;
    context_.process = nullptr;
    connection_.local = Address::ip("127.0.0.1", 1000);
    connection_.remote = Address::ip("10.0.0.3", 50000);
  }

  // Envoy's defaults unless the scenario is about the limits.
  core::BufferedTapper& tapper(uint32_t max_rx = 1024, uint32_t max_tx = 1024) {
    context_.max_buffered_rx_bytes = max_rx;
    context_.max_buffered_tx_bytes = max_tx;
    tapper_.emplace(context_, /*trace_id=*/7);
    return *tapper_;
  }

  void read(std::string_view data) {
    iovec slice{const_cast<char*>(data.data()), data.size()};
    tapper_->onRead(core::IoSlices(&slice, 1, data.size()));
  }
  void write(std::string_view data) {
    iovec slice{const_cast<char*>(data.data()), data.size()};
    tapper_->onWrite(core::IoSlices(&slice, 1, data.size()));
  }

  // Closes the connection and decodes the one message it must produce.
  TraceWrapper closeAndDecode() {
    tapper_->onClose(connection_);
    EXPECT_EQ(sink_.outputs().size(), 1u);
    if (sink_.outputs().empty()) return {};
    EXPECT_TRUE(sink_.outputs()[0].closed);
    return parseTrace(sink_.outputs()[0].bytes);
  }

  FakeClock clock_;
  FakeSink sink_;
  core::ProtoBinaryEncoder encoder_;
  core::TraceIds ids_;
  core::TapperContext context_;
  core::ConnectionInfo connection_;
  std::optional<core::BufferedTapper> tapper_;
};

TEST_F(BufferedTapperTest, RecordsReadsAndWritesInTimeOrder) {
  tapper();
  clock_.setSeconds(1);
  read("GET /");
  clock_.setSeconds(2);
  write("200 OK");
  clock_.setSeconds(3);
  read("bye");
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp { seconds: 1 } read { data { as_bytes: "GET /" } } }
    events { timestamp { seconds: 2 } write { data { as_bytes: "200 OK" } } }
    events { timestamp { seconds: 3 } read { data { as_bytes: "bye" } } }
  )")));
}

TEST_F(BufferedTapperTest, ReadBudgetIsCumulativeAcrossEvents) {
  tapper(/*max_rx=*/8);
  read("abcde");
  read("fghij");  // 3 bytes of budget left
  read("klm");    // dropped: reads are truncated
  write("still recorded");
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} read { data { as_bytes: "abcde" } } }
    events { timestamp {} read { data { as_bytes: "fgh" truncated: true } } }
    events { timestamp {} write { data { as_bytes: "still recorded" } } }
    read_truncated: true
  )")));
}

TEST_F(BufferedTapperTest, WriteBudgetIsCumulativeAcrossEvents) {
  tapper(/*max_rx=*/1024, /*max_tx=*/4);
  write("ab");
  write("cdef");  // 2 bytes of budget left
  write("gh");    // dropped
  read("reply");
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} write { data { as_bytes: "ab" } } }
    events { timestamp {} write { data { as_bytes: "cd" truncated: true } } }
    events { timestamp {} read { data { as_bytes: "reply" } } }
    write_truncated: true
  )")));
}

TEST_F(BufferedTapperTest, ExactBudgetRecordsOneEmptyTruncatedEventThenDrops) {
  tapper(/*max_rx=*/5);
  read("hello");  // uses the budget exactly: not truncated
  read("x");      // recorded with empty as_bytes, truncated
  read("y");      // dropped
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} read { data { as_bytes: "hello" } } }
    events { timestamp {} read { data { as_bytes: "" truncated: true } } }
    read_truncated: true
  )")));
  // as_bytes is a oneof member, so the empty value is on the wire (0a 00).
  EXPECT_NE(hex(sink_.outputs()[0].bytes).find("0a040a001801"), std::string::npos);
}

TEST_F(BufferedTapperTest, DirectionsAreIndependent) {
  tapper(/*max_rx=*/2, /*max_tx=*/100);
  clock_.setSeconds(1);
  read("abc");
  clock_.setSeconds(2);
  write("one");
  clock_.setSeconds(3);
  read("dropped");
  clock_.setSeconds(4);
  write("two");
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp { seconds: 1 } read { data { as_bytes: "ab" truncated: true } } }
    events { timestamp { seconds: 2 } write { data { as_bytes: "one" } } }
    events { timestamp { seconds: 4 } write { data { as_bytes: "two" } } }
    read_truncated: true
  )")));
}

TEST_F(BufferedTapperTest, LimitZeroRecordsOneEmptyTruncatedEventPerDirection) {
  tapper(/*max_rx=*/0, /*max_tx=*/0);
  read("a");
  write("b");
  read("c");
  write("d");
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} read { data { as_bytes: "" truncated: true } } }
    events { timestamp {} write { data { as_bytes: "" truncated: true } } }
    read_truncated: true
    write_truncated: true
  )")));
}

TEST_F(BufferedTapperTest, TimestampsNeverGoBackwardsWhenTheClockStepsBack) {
  tapper();
  clock_.setNanos(5 * FakeClock::kSecond + 500);
  read("a");
  clock_.setSeconds(3);  // NTP stepped the wall clock back
  write("b");
  clock_.setSeconds(6);
  read("c");
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp { seconds: 5 nanos: 500 } read { data { as_bytes: "a" } } }
    events { timestamp { seconds: 5 nanos: 500 } write { data { as_bytes: "b" } } }
    events { timestamp { seconds: 6 } read { data { as_bytes: "c" } } }
  )")));
}

TEST_F(BufferedTapperTest, FirstEventTakesTheClocksTimeEvenBeforeTheEpoch) {
  // Only later events are held back to the newest time seen; the first
  // one has nothing to be held back to.
  tapper();
  clock_.setNanos(-2 * FakeClock::kSecond + 250);
  read("a");
  clock_.setNanos(-3 * FakeClock::kSecond);
  write("b");
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp { seconds: -2 nanos: 250 } read { data { as_bytes: "a" } } }
    events { timestamp { seconds: -2 nanos: 250 } write { data { as_bytes: "b" } } }
  )")));
}

TEST_F(BufferedTapperTest, LargeBudgetKeepsMegabytesIntact) {
  // Beyond the allocator's largest size class, so the event log moves to
  // blocks mapped on their own while it grows.
  constexpr size_t kSize = 3 * 1024 * 1024 + 17;
  std::string big(kSize, '\0');
  for (size_t i = 0; i < kSize; ++i) big[i] = static_cast<char>(i * 7919 >> 5);
  tapper(/*max_rx=*/4 * 1024 * 1024, /*max_tx=*/kSize - 1);
  read(big);
  write(big);
  const TraceWrapper trace = closeAndDecode();
  const auto& events = trace.socket_buffered_trace().events();
  ASSERT_EQ(events.size(), 2);
  EXPECT_TRUE(events[0].read().data().as_bytes() == big);
  EXPECT_FALSE(events[0].read().data().truncated());
  EXPECT_TRUE(events[1].write().data().as_bytes() == big.substr(0, kSize - 1));
  EXPECT_TRUE(events[1].write().data().truncated());
  EXPECT_FALSE(trace.socket_buffered_trace().read_truncated());
  EXPECT_TRUE(trace.socket_buffered_trace().write_truncated());
}

TEST_F(BufferedTapperTest, CloseWithoutEventsWritesOneMessageWithTheConnection) {
  tapper();
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace("")));
  EXPECT_EQ(sink_.outputs()[0].extension, ".pb");
}

TEST_F(BufferedTapperTest, UnknownLocalAddressIsLeftOut) {
  tapper();
  connection_.local = Address{};
  connection_.remote = Address::pipe("@bus");
  EXPECT_THAT(closeAndDecode(), EqualsProto(R"pb(
                socket_buffered_trace {
                  trace_id: 7
                  connection { remote_address { pipe { path: "@bus" } } }
                }
              )pb"));
}

TEST_F(BufferedTapperTest, CloseTwiceWritesOnce) {
  tapper();
  read("a");
  tapper_->onClose(connection_);
  read("after close");
  tapper_->onClose(connection_);
  ASSERT_EQ(sink_.outputs().size(), 1u);
  EXPECT_EQ(sink_.openCalls(), 1);
  EXPECT_EQ(sink_.outputs()[0].writes, 1);
  EXPECT_THAT(parseTrace(sink_.outputs()[0].bytes), EqualsProto(expectedTrace(R"(
    events { timestamp {} read { data { as_bytes: "a" } } }
  )")));
}

TEST_F(BufferedTapperTest, HandOverWithoutEventsWritesNothing) {
  // A forking server's parent closing its copy of an accepted socket: the
  // child carries the connection on and traces it.
  tapper();
  tapper_->onHandedOver(connection_);
  tapper_->onClose(connection_);
  EXPECT_EQ(sink_.openCalls(), 0);
}

TEST_F(BufferedTapperTest, HandOverAfterEventsWritesTheTraceOnce) {
  tapper();
  read("seen by the parent");
  tapper_->onHandedOver(connection_);
  tapper_->onClose(connection_);
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} read { data { as_bytes: "seen by the parent" } } }
  )")));
}

TEST_F(BufferedTapperTest, GapIsAnEmptyTruncatedEventThatUsesNoBudget) {
  tapper(/*max_rx=*/5);
  tapper_->onGap(Direction::kRead);
  read("hello");  // the whole budget is still there
  tapper_->onGap(Direction::kWrite);
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} read { data { as_bytes: "" truncated: true } } }
    events { timestamp {} read { data { as_bytes: "hello" } } }
    events { timestamp {} write { data { as_bytes: "" truncated: true } } }
  )")));
}

TEST_F(BufferedTapperTest, GapAfterTheBudgetRanOutAddsNothing) {
  tapper(/*max_rx=*/1);
  read("ab");
  tapper_->onGap(Direction::kRead);  // the trace already says reads are cut
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} read { data { as_bytes: "a" truncated: true } } }
    read_truncated: true
  )")));
}

TEST_F(BufferedTapperTest, HalfCloseSetsEndStreamOnTheNewestWriteOnly) {
  tapper();
  write("first");
  write("last");
  tapper_->onHalfClose();
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} write { data { as_bytes: "first" } } }
    events { timestamp {} write { data { as_bytes: "last" } end_stream: true } }
  )")));
}

TEST_F(BufferedTapperTest, HalfCloseAfterAReadMarksNothing) {
  tapper();
  write("request");
  read("response");
  tapper_->onHalfClose();  // the newest event is a read: no write carried it
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} write { data { as_bytes: "request" } } }
    events { timestamp {} read { data { as_bytes: "response" } } }
  )")));
}

TEST_F(BufferedTapperTest, HalfCloseWithoutEventsWritesAnEmptyTrace) {
  tapper();
  tapper_->onHalfClose();
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace("")));
}

TEST_F(BufferedTapperTest, ScatteredSlicesAreRecordedInOrder) {
  tapper(/*max_rx=*/1024, /*max_tx=*/6);
  char a[] = "ab", c[] = "cde", f[] = "fgh", z[] = "zz";
  // Four iovecs, one empty; the call moved 7 bytes, so "gh" and "zz" were
  // offered but not taken and must not appear.
  iovec slices[] = {{a, 2}, {nullptr, 0}, {c, 3}, {f, 3}, {z, 2}};
  tapper_->onRead(core::IoSlices(slices, 5, 6));
  tapper_->onWrite(core::IoSlices(slices, 5, 7));  // the budget cuts inside "fgh"
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} read { data { as_bytes: "abcdef" } } }
    events { timestamp {} write { data { as_bytes: "abcdef" truncated: true } } }
    write_truncated: true
  )")));
}

TEST_F(BufferedTapperTest, SinkOpenFailureWritesNothingAndDoesNotCrash) {
  sink_.failOpens();
  tapper();
  read("lost");
  tapper_->onClose(connection_);
  tapper_->onClose(connection_);
  EXPECT_EQ(sink_.openCalls(), 1);
  EXPECT_TRUE(sink_.outputs().empty());
}

TEST_F(BufferedTapperTest, SinkThatMovesTheTraceToANewIdGetsThatIdInTheMessage) {
  sink_.replaceIdsWith(99);  // the file sink's EEXIST case
  tapper();
  read("a");
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    events { timestamp {} read { data { as_bytes: "a" } } }
  )",
                                                          /*trace_id=*/99)));
  EXPECT_EQ(sink_.outputs()[0].requested_id, 7u);
  EXPECT_EQ(tapper_->traceId(), 99u);
}

TEST_F(BufferedTapperTest, ProcessExtensionIsWrittenWhenTheContextHasOne) {
  core::ProcessInfo process;
  process.pid = 4242;
  std::memcpy(process.name, "curl", 4);
  context_.process = &process;
  tapper();
  EXPECT_THAT(closeAndDecode(), EqualsProto(expectedTrace(R"(
    tapshim_process { pid: 4242 name: "curl" }
  )")));
}

}  // namespace
}  // namespace tapshim::testing
