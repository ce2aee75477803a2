// The readers of all four formats (inputs made by libprotobuf), streamed
// grouping, the old Connection numbering, and truncation accounting.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/tools/trace_builder.h"
#include "tools/trace_reader/record_source.h"
#include "tools/trace_reader/trace_cursor.h"
#include "tools/trace_reader/trace_index.h"

namespace tapshim::tap2pcap {
namespace {

using testing::closedEvent;
using testing::encodeTraces;
using testing::ipAddress;
using testing::readEvent;
using testing::TraceWrapper;
using testing::writeEvent;

TraceWrapper bufferedTrace(uint64_t id, int64_t start) {
  TraceWrapper wrapper;
  auto* trace = wrapper.mutable_socket_buffered_trace();
  trace->set_trace_id(id);
  *trace->mutable_connection()->mutable_local_address() = ipAddress("127.0.0.1", 40000 + id);
  *trace->mutable_connection()->mutable_remote_address() = ipAddress("::1", 80);
  *trace->add_events() = writeEvent(start, "request");
  *trace->add_events() = readEvent(start + 5, std::string("resp\0nse\xff", 9));
  trace->mutable_tapshim_process()->set_pid(7);
  trace->mutable_tapshim_process()->set_name("curl");
  return wrapper;
}

TraceWrapper segment(uint64_t id) {
  TraceWrapper wrapper;
  wrapper.mutable_socket_streamed_trace_segment()->set_trace_id(id);
  return wrapper;
}

struct Converted {
  std::vector<TraceSummary> traces;
  std::vector<std::vector<TapEvent>> events;
};

Converted readAll(const std::string& content, TraceFormat format,
                  ConnectionNumbering numbering = ConnectionNumbering::kDetect) {
  Converted out;
  std::istringstream in(content);
  TraceIndex index(numbering);
  const absl::Status status = index.addInput(0, in, format);
  EXPECT_TRUE(status.ok()) << status;
  out.traces = index.takeTraces();
  MemoryRecordSource source({content});
  for (const TraceSummary& trace : out.traces) {
    TraceCursor cursor(trace, format, numbering, &source);
    std::vector<TapEvent> events;
    while (true) {
      const absl::Status status = cursor.advance();
      EXPECT_TRUE(status.ok()) << status;
      if (!status.ok() || cursor.done()) break;
      events.push_back(cursor.current());
    }
    out.events.push_back(events);
  }
  return out;
}

class AllFormatsTest : public ::testing::TestWithParam<TraceFormat> {};

TEST_P(AllFormatsTest, BufferedTracesBackToBack) {
  const std::string content =
      encodeTraces({bufferedTrace(1, 1'000'000'000), bufferedTrace(2, 2'000'000'000)}, GetParam());
  const Converted got = readAll(content, GetParam());
  ASSERT_EQ(got.traces.size(), 2u);
  const TraceSummary& first = got.traces[0];
  EXPECT_EQ(first.trace_id, 1u);
  EXPECT_FALSE(first.streamed);
  EXPECT_EQ(first.local->socket_address().port_value(), 40001u);
  EXPECT_EQ(first.remote->socket_address().address(), "::1");
  EXPECT_EQ(first.events, 2u);
  EXPECT_EQ(first.write_bytes, 7u);
  EXPECT_EQ(first.read_bytes, 9u);
  EXPECT_EQ(first.first_ns, 1'000'000'000);
  EXPECT_EQ(first.last_ns, 1'000'000'005);
  // The extension field 1000 is binary-only (Envoy's text parsers reject it).
  EXPECT_EQ(first.process_name, "curl");
  ASSERT_EQ(got.events[1].size(), 2u);
  EXPECT_EQ(got.events[1][0].kind, TapEvent::Kind::kWrite);
  EXPECT_EQ(got.events[1][1].data, std::string("resp\0nse\xff", 9));
  EXPECT_EQ(got.events[1][1].time_ns, 2'000'000'005);
}

TEST_P(AllFormatsTest, StreamedSegmentsGroupByTraceId) {
  std::vector<TraceWrapper> messages;
  TraceWrapper open = segment(5);
  *open.mutable_socket_streamed_trace_segment()->mutable_connection()->mutable_remote_address() =
      ipAddress("10.0.0.1", 443);
  messages.push_back(open);
  TraceWrapper other = segment(6);
  *other.mutable_socket_streamed_trace_segment()->mutable_event() = readEvent(10, "other");
  messages.push_back(other);
  TraceWrapper first = segment(5);
  auto* event = first.mutable_socket_streamed_trace_segment()->mutable_event();
  *event = writeEvent(20, "hello");
  *event->mutable_connection()->mutable_local_address() = ipAddress("10.0.0.2", 50000);
  messages.push_back(first);
  TraceWrapper batch = segment(5);
  auto* events = batch.mutable_socket_streamed_trace_segment()->mutable_events();
  *events->add_events() = readEvent(30, "world", /*truncated=*/true);
  *events->add_events() = closedEvent(40);
  messages.push_back(batch);
  const Converted got = readAll(encodeTraces(messages, GetParam()), GetParam());
  ASSERT_EQ(got.traces.size(), 2u);
  const TraceSummary& five = got.traces[0];
  EXPECT_TRUE(five.streamed);
  EXPECT_EQ(five.trace_id, 5u);
  EXPECT_EQ(five.records.size(), 3u);
  EXPECT_EQ(five.remote->socket_address().port_value(), 443u);
  EXPECT_EQ(five.local->socket_address().port_value(), 50000u);
  EXPECT_EQ(five.truncated_events, 1u);
  EXPECT_TRUE(five.read_truncated);
  EXPECT_FALSE(five.write_truncated);
  ASSERT_EQ(got.events[0].size(), 3u);
  EXPECT_EQ(got.events[0][0].data, "hello");
  EXPECT_TRUE(got.events[0][1].truncated);
  EXPECT_EQ(got.events[0][2].kind, TapEvent::Kind::kClosed);
  EXPECT_EQ(got.events[1][0].data, "other");
}

INSTANTIATE_TEST_SUITE_P(Formats, AllFormatsTest,
                         ::testing::Values(TraceFormat::kProtoBinary,
                                           TraceFormat::kProtoLengthDelimited,
                                           TraceFormat::kProtoText, TraceFormat::kJson));

TEST(TraceReaderTest, OldConnectionNumberingIsDetected) {
  TraceWrapper trace = bufferedTrace(1, 0);
  testing::useOldNumbering(trace.mutable_socket_buffered_trace()->mutable_connection());
  const Converted got =
      readAll(encodeTraces({trace}, TraceFormat::kProtoBinary), TraceFormat::kProtoBinary);
  ASSERT_EQ(got.traces.size(), 1u);
  EXPECT_EQ(got.traces[0].local->socket_address().port_value(), 40001u);
  EXPECT_EQ(got.traces[0].remote->socket_address().address(), "::1");
}

TEST(TraceReaderTest, OldConnectionNumberingCanBeForced) {
  // Local only: field 2 alone reads as a remote address unless told.
  TraceWrapper trace = bufferedTrace(1, 0);
  trace.mutable_socket_buffered_trace()->mutable_connection()->clear_remote_address();
  testing::useOldNumbering(trace.mutable_socket_buffered_trace()->mutable_connection());
  const std::string content = encodeTraces({trace}, TraceFormat::kProtoBinary);
  const Converted detected = readAll(content, TraceFormat::kProtoBinary);
  EXPECT_FALSE(detected.traces[0].local);
  const Converted forced = readAll(content, TraceFormat::kProtoBinary, ConnectionNumbering::kOld);
  EXPECT_EQ(forced.traces[0].local->socket_address().port_value(), 40001u);
  EXPECT_FALSE(forced.traces[0].remote);
}

TEST(TraceReaderTest, TruncationAccountingOfBufferedTrace) {
  TraceWrapper wrapper = bufferedTrace(1, 0);
  auto* trace = wrapper.mutable_socket_buffered_trace();
  *trace->add_events() = readEvent(10, "cut", /*truncated=*/true);
  *trace->add_events() = readEvent(11, "", /*truncated=*/true);
  trace->set_read_truncated(true);
  const Converted got =
      readAll(encodeTraces({wrapper}, TraceFormat::kProtoBinary), TraceFormat::kProtoBinary);
  EXPECT_EQ(got.traces[0].truncated_events, 2u);
  EXPECT_EQ(got.traces[0].read_bytes, 9u + 3);
  EXPECT_TRUE(got.traces[0].read_truncated);
  EXPECT_FALSE(got.traces[0].write_truncated);
}

TEST(TraceReaderTest, TimesNeverGoBackwards) {
  TraceWrapper wrapper = bufferedTrace(1, 100);
  *wrapper.mutable_socket_buffered_trace()->add_events() = writeEvent(50, "late");
  const Converted got =
      readAll(encodeTraces({wrapper}, TraceFormat::kProtoBinary), TraceFormat::kProtoBinary);
  ASSERT_EQ(got.events[0].size(), 3u);
  EXPECT_EQ(got.events[0][2].time_ns, 105);
}

absl::Status readError(const std::string& content, TraceFormat format) {
  std::istringstream in(content);
  TraceIndex index(ConnectionNumbering::kDetect);
  return index.addInput(0, in, format);
}

TEST(TraceReaderTest, BadInputIsAnErrorWithAPlace) {
  const std::string good = encodeTraces({bufferedTrace(1, 0)}, TraceFormat::kProtoBinary);
  EXPECT_NE(readError(good.substr(0, good.size() - 1), TraceFormat::kProtoBinary)
                .message()
                .find("cut off"),
            std::string::npos);
  EXPECT_NE(readError("\x0a\x01x", TraceFormat::kProtoBinary).message().find("top-level field 1"),
            std::string::npos);
  EXPECT_NE(readError("", TraceFormat::kProtoText).message().find("holds no trace"),
            std::string::npos);
  EXPECT_FALSE(readError("{\"socket_buffered_trace\": {", TraceFormat::kJson).ok());
  EXPECT_FALSE(readError("{} {\"a\": 1}", TraceFormat::kJson).ok());
  EXPECT_FALSE(readError("nonsense { }", TraceFormat::kProtoText).ok());
  const std::string delimited =
      encodeTraces({bufferedTrace(1, 0)}, TraceFormat::kProtoLengthDelimited);
  EXPECT_FALSE(readError(delimited + std::string("\x05"
                                                 "ab"),
                         TraceFormat::kProtoLengthDelimited)
                   .ok());
}

TEST(TraceReaderTest, TextRecordsMayHoldBracketsInStringsAndComments) {
  const std::string text =
      "# a comment with { and }\n"
      "socket_buffered_trace { trace_id: 3 events { read { data { as_bytes: \"}{\\\"'>\" } } } }\n"
      "socket_buffered_trace: < trace_id: 4 >\n";
  const Converted got = readAll(text, TraceFormat::kProtoText);
  ASSERT_EQ(got.traces.size(), 2u);
  EXPECT_EQ(got.events[0][0].data, "}{\"'>");
  EXPECT_EQ(got.traces[1].trace_id, 4u);
}

}  // namespace
}  // namespace tapshim::tap2pcap
