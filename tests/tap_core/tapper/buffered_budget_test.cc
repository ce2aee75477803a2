// TAP_MAX_BUFFERED_TOTAL_BYTES: one budget shared by every buffered tapper
// of a process. Past it an event is cut exactly as at a connection's own
// limit (Body.truncated, read_truncated/write_truncated, the direction
// stops), one stderr line says so, and a trace gives its bytes back when
// it is written or dropped. Streamed tappers buffer nothing and take none.
#include "tap_core/tapper/buffered_budget.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "tap_core/base/diagnostics.h"
#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/tapper/buffered_tapper.h"
#include "tap_core/tapper/streamed_tapper.h"
#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/fake_sink.h"
#include "tests/tap_core/support/proto_test_util.h"

namespace tapshim::testing {
namespace {

using core::BufferedBudget;

void record(core::PerSocketTapper& tapper, core::Direction direction, std::string_view data) {
  iovec slice{const_cast<char*>(data.data()), data.size()};
  const core::IoSlices slices(&slice, 1, data.size());
  if (direction == core::Direction::kRead) {
    tapper.onRead(slices);
  } else {
    tapper.onWrite(slices);
  }
}
void read(core::PerSocketTapper& tapper, std::string_view data) {
  record(tapper, core::Direction::kRead, data);
}
void write(core::PerSocketTapper& tapper, std::string_view data) {
  record(tapper, core::Direction::kWrite, data);
}

TEST(BufferedBudgetTest, GrantsWhatIsLeftThenNothingUntilGivenBack) {
  BufferedBudget budget(10);
  EXPECT_EQ(budget.take(6), 6u);
  EXPECT_EQ(budget.take(6), 4u);  // only 4 left
  EXPECT_EQ(budget.take(1), 0u);
  EXPECT_EQ(budget.held(), 10u);
  budget.give(6);
  EXPECT_EQ(budget.held(), 4u);
  EXPECT_EQ(budget.take(100), 6u);
  budget.forgetAfterFork();
  EXPECT_EQ(budget.held(), 0u);
}

class BufferedBudgetTapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_.clock = &clock_;
    context_.sink = &sink_;
    context_.encoder = &encoder_;
    context_.ids = &ids_;
    context_.buffered_budget = &budget_;
    connection_.local = core::Address::ip("127.0.0.1", 1000);
    connection_.remote = core::Address::ip("10.0.0.3", 50000);
    core::resetReports();
  }

  // Closes `tapper` and decodes the trace it wrote (the sink's newest).
  envoy::data::tap::v3::SocketBufferedTrace closeAndDecode(core::BufferedTapper& tapper) {
    const size_t before = sink_.outputs().size();
    tapper.onClose(connection_);
    EXPECT_EQ(sink_.outputs().size(), before + 1);
    if (sink_.outputs().size() != before + 1) return {};
    return parseTrace(sink_.outputs().back().bytes).socket_buffered_trace();
  }

  FakeClock clock_;
  FakeSink sink_;
  core::ProtoBinaryEncoder encoder_;
  core::TraceIds ids_;
  BufferedBudget budget_{10};
  core::TapperContext context_;
  core::ConnectionInfo connection_;
};

TEST_F(BufferedBudgetTapperTest, PastTheBudgetEventsAreCutAsAtTheConnectionsLimit) {
  core::BufferedTapper first(context_, 1);
  core::BufferedTapper second(context_, 2);
  read(first, "abcdef");  // 6 of 10
  ::testing::internal::CaptureStderr();
  read(second, "ghijkl");  // 4 left: cut
  read(second, "mn");      // the direction has stopped
  write(second, "op");     // nothing left: kept empty and truncated
  write(second, "qr");     // stopped
  read(first, "st");       // nothing left
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(said,
            "tapshim: buffered traces hold TAP_MAX_BUFFERED_TOTAL_BYTES (10 bytes): new events are "
            "cut (read_truncated/write_truncated) until traces are written\n");
  EXPECT_EQ(budget_.held(), 10u);

  EXPECT_THAT(closeAndDecode(second), EqualsProto(R"pb(
                trace_id: 2
                connection {
                  local_address { socket_address { address: "127.0.0.1" port_value: 1000 } }
                  remote_address { socket_address { address: "10.0.0.3" port_value: 50000 } }
                }
                events {
                  timestamp {}
                  read { data { as_bytes: "ghij" truncated: true } }
                }
                events {
                  timestamp {}
                  write { data { as_bytes: "" truncated: true } }
                }
                read_truncated: true
                write_truncated: true
              )pb"));
  const auto trace = closeAndDecode(first);
  ASSERT_EQ(trace.events_size(), 2);
  EXPECT_EQ(trace.events(0).read().data().as_bytes(), "abcdef");
  EXPECT_TRUE(trace.events(1).read().data().truncated());
  EXPECT_TRUE(trace.read_truncated());
}

TEST_F(BufferedBudgetTapperTest, AWrittenTraceGivesItsBytesBack) {
  core::BufferedTapper first(context_, 1);
  write(first, "0123456789");  // the whole budget
  closeAndDecode(first);
  EXPECT_EQ(budget_.held(), 0u);
  core::BufferedTapper second(context_, 2);
  ::testing::internal::CaptureStderr();
  write(second, "0123456789");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");  // nothing was cut
  const auto trace = closeAndDecode(second);
  ASSERT_EQ(trace.events_size(), 1);
  EXPECT_EQ(trace.events(0).write().data().as_bytes(), "0123456789");
  EXPECT_FALSE(trace.write_truncated());
}

TEST_F(BufferedBudgetTapperTest, ADroppedTraceGivesItsBytesBack) {
  {
    // Never closed: the connection turned out not to be tapped, or lost a
    // race, and its tapper is destroyed unwritten.
    core::BufferedTapper dropped(context_, 1);
    write(dropped, "0123");
    EXPECT_EQ(budget_.held(), 4u);
  }
  EXPECT_EQ(budget_.held(), 0u);
  core::BufferedTapper records(context_, 2);
  read(records, "\x16\x03\x01 handshake");  // TLS records, then TLS is found
  EXPECT_EQ(budget_.held(), 10u);
  records.onTlsStarted();
  EXPECT_EQ(budget_.held(), 0u);
  core::BufferedTapper handed_over(context_, 3);
  handed_over.onHandedOver(connection_);  // nothing recorded, nothing written
  EXPECT_EQ(budget_.held(), 0u);
}

TEST_F(BufferedBudgetTapperTest, TheConnectionsOwnLimitStillAppliesFirst) {
  context_.max_buffered_rx_bytes = 3;
  core::BufferedTapper tapper(context_, 1);
  read(tapper, "abcdef");  // cut at 3 by the connection's limit: 3 charged
  EXPECT_EQ(budget_.held(), 3u);
  closeAndDecode(tapper);
  EXPECT_EQ(budget_.held(), 0u);
}

TEST_F(BufferedBudgetTapperTest, StreamedTracesBufferNothingAndTakeNothing) {
  BufferedBudget spent(0);
  context_.buffered_budget = &spent;
  context_.streaming = true;
  core::ProtoBinaryEncoder delimited(/*length_delimited=*/true);
  context_.encoder = &delimited;
  core::StreamedTapper tapper(context_, 1);
  tapper.onEstablished(connection_);
  ::testing::internal::CaptureStderr();
  write(tapper, "whole event");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ASSERT_EQ(sink_.outputs().size(), 1u);
  EXPECT_NE(sink_.outputs()[0].bytes.find("whole event"), std::string::npos);
  tapper.onClose(connection_);
}

}  // namespace
}  // namespace tapshim::testing
