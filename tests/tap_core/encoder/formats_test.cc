// The text, JSON and length-delimited encoders, and streamed segments in
// every format, against libprotobuf on randomized traces. Envoy writes
// PROTO_TEXT with TextFormat and JSON with MessageToJsonString
// (preserve_proto_field_names, add_whitespace, always_print_primitive_fields);
// the shim must write the same bytes (libprotobuf 3.21, Debian 12).
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>

#include "tap_core/base/byte_buffer.h"
#include "tap_core/encoder/json_encoder.h"
#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/encoder/proto_text_encoder.h"
#include "tap_core/encoder/utf8.h"
#include "tests/tap_core/support/trace_builders.h"

namespace tapshim::testing {
namespace {

using envoy::data::tap::v3::TraceWrapper;

constexpr int kRandomCases = 400;
constexpr uint64_t kSeed = 20261126;

std::string lengthDelimited(const TraceWrapper& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.WriteVarint32(static_cast<uint32_t>(message.ByteSizeLong()));
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

std::string textOf(const TraceWrapper& message) {
  std::string out;
  google::protobuf::TextFormat::PrintToString(message, &out);
  return out;
}

// Envoy's JSON printer options; nullopt when libprotobuf refuses (a
// timestamp outside years 1 to 9999).
std::optional<std::string> jsonOf(const TraceWrapper& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok())
    return std::nullopt;
  return out;
}

// Envoy's JSON_BODY_AS_STRING: bodies moved to as_string, except (tapshim)
// those that are not valid UTF-8.
void bodiesAsString(envoy::data::tap::v3::SocketEvent* event) {
  envoy::data::tap::v3::Body* body = event->has_read()    ? event->mutable_read()->mutable_data()
                                     : event->has_write() ? event->mutable_write()->mutable_data()
                                                          : nullptr;
  if (body == nullptr || !core::utf8::isValid(body->as_bytes())) return;
  std::string bytes = body->as_bytes();
  body->set_as_string(bytes);
}

TraceWrapper withoutExtensions(TraceWrapper message) {
  message.mutable_socket_buffered_trace()->clear_tapshim_process();
  return message;
}

TEST(FormatsTest, BufferedTracesInEveryFormatEqualLibprotobuf) {
  std::mt19937_64 random(kSeed);
  const core::ProtoBinaryEncoder delimited(/*length_delimited=*/true);
  const core::ProtoTextEncoder text;
  const core::JsonEncoder json_bytes(/*body_as_string=*/false);
  const core::JsonEncoder json_string(/*body_as_string=*/true);
  int json_cases = 0;
  for (int i = 0; i < kRandomCases; ++i) {
    const TraceSpec trace = randomTrace(random);
    const TraceWrapper expected = toProto(trace);
    SCOPED_TRACE("case " + std::to_string(i) + ":\n" + expected.DebugString());
    ASSERT_EQ(encodeWithShim(trace, delimited), lengthDelimited(expected));
    // Text and JSON never carry the binary-only extensions.
    const TraceWrapper plain = withoutExtensions(expected);
    ASSERT_EQ(encodeWithShim(trace, text), textOf(plain));
    if (std::optional<std::string> json = jsonOf(plain)) {
      ++json_cases;
      ASSERT_EQ(encodeWithShim(trace, json_bytes), *json);
      TraceWrapper as_string = plain;
      for (auto& event : *as_string.mutable_socket_buffered_trace()->mutable_events()) {
        bodiesAsString(&event);
      }
      ASSERT_EQ(encodeWithShim(trace, json_string), *jsonOf(as_string));
    }
  }
  // Most random timestamps are printable in JSON; the test must not pass
  // by skipping them all.
  EXPECT_GT(json_cases, kRandomCases / 2);
}

// A random streamed segment, with the same piece encoded by the shim and
// built with libprotobuf.
struct SegmentCase {
  core::SegmentData data;
  TraceSpec trace;  // connection and events (reusing the buffered builder)
  core::EventLog events;
  core::EventView event;
  TraceWrapper expected;
};

std::unique_ptr<SegmentCase> randomSegment(std::mt19937_64& random) {
  auto segment = std::make_unique<SegmentCase>();
  segment->trace = randomTrace(random);
  TraceSpec& trace = segment->trace;
  if (!trace.connection) trace.connection = core::ConnectionInfo{};
  const int piece = static_cast<int>(random() % 3);
  if (piece == 1 && trace.events.empty()) trace.events.push_back(EventSpec{});
  const TraceWrapper buffered = toProto(trace);
  core::SegmentData& data = segment->data;
  data.trace_id = trace.trace_id;
  auto* expected = segment->expected.mutable_socket_streamed_trace_segment();
  expected->set_trace_id(trace.trace_id);
  const bool per_event_connection = random() % 2 == 0;
  if (per_event_connection) data.event_connection = &*trace.connection;
  auto eventProto = [&](int index) {
    envoy::data::tap::v3::SocketEvent event = buffered.socket_buffered_trace().events(index);
    if (per_event_connection)
      *event.mutable_connection() = buffered.socket_buffered_trace().connection();
    return event;
  };
  switch (piece) {
    case 0:
      data.piece = core::SegmentData::Piece::kConnection;
      data.connection = &*trace.connection;
      data.event_connection = nullptr;
      *expected->mutable_connection() = buffered.socket_buffered_trace().connection();
      break;
    case 1:
      data.piece = core::SegmentData::Piece::kEvent;
      segment->event.timestamp_ns = trace.events[0].timestamp_ns;
      segment->event.kind = trace.events[0].kind;
      segment->event.data = trace.events[0].data;
      segment->event.truncated = trace.events[0].truncated;
      segment->event.end_stream = trace.events[0].end_stream;
      segment->event.seq_num = trace.events[0].seq_num;
      data.event = &segment->event;
      *expected->mutable_event() = eventProto(0);
      break;
    default: {
      data.piece = core::SegmentData::Piece::kEvents;
      fillEventLog(trace.events, &segment->events);
      data.events = &segment->events;
      auto* list = expected->mutable_events();
      for (size_t k = 0; k < trace.events.size(); ++k)
        *list->add_events() = eventProto(static_cast<int>(k));
      break;
    }
  }
  return segment;
}

std::string encodeSegment(const core::TraceEncoder& encoder, const core::SegmentData& data) {
  core::ByteBuffer out;
  EXPECT_TRUE(encoder.encodeSegment(data, &out));
  return std::string(out.view());
}

TEST(FormatsTest, StreamedSegmentsInEveryFormatEqualLibprotobuf) {
  std::mt19937_64 random(kSeed + 1);
  const core::ProtoBinaryEncoder binary;
  const core::ProtoBinaryEncoder delimited(/*length_delimited=*/true);
  const core::ProtoTextEncoder text;
  const core::JsonEncoder json_bytes(/*body_as_string=*/false);
  const core::JsonEncoder json_string(/*body_as_string=*/true);
  int json_cases = 0;
  for (int i = 0; i < kRandomCases; ++i) {
    std::unique_ptr<SegmentCase> segment = randomSegment(random);
    const TraceWrapper& expected = segment->expected;
    SCOPED_TRACE("case " + std::to_string(i) + ":\n" + expected.DebugString());
    ASSERT_EQ(encodeSegment(binary, segment->data), expected.SerializeAsString());
    ASSERT_EQ(encodeSegment(delimited, segment->data), lengthDelimited(expected));
    ASSERT_EQ(encodeSegment(text, segment->data), textOf(expected));
    if (std::optional<std::string> json = jsonOf(expected)) {
      ++json_cases;
      ASSERT_EQ(encodeSegment(json_bytes, segment->data), *json);
      TraceWrapper as_string = expected;
      auto* piece = as_string.mutable_socket_streamed_trace_segment();
      if (piece->has_event()) bodiesAsString(piece->mutable_event());
      if (piece->has_events()) {
        for (auto& event : *piece->mutable_events()->mutable_events()) bodiesAsString(&event);
      }
      ASSERT_EQ(encodeSegment(json_string, segment->data), *jsonOf(as_string));
    }
  }
  EXPECT_GT(json_cases, kRandomCases / 2);
}

TEST(FormatsTest, ProcessExtensionRidesOnTheFirstBinarySegmentOnly) {
  core::ConnectionInfo connection;
  connection.remote = core::Address::ip("::1", 443);
  core::ProcessInfo process;
  process.pid = 42;
  std::memcpy(process.name, "curl", 5);
  core::SegmentData data;
  data.trace_id = 9;
  data.connection = &connection;
  data.process = &process;
  TraceWrapper parsed;
  ASSERT_TRUE(parsed.ParseFromString(encodeSegment(core::ProtoBinaryEncoder(), data)));
  EXPECT_EQ(parsed.socket_streamed_trace_segment().tapshim_process().pid(), 42u);
  EXPECT_EQ(parsed.socket_streamed_trace_segment().tapshim_process().name(), "curl");
  EXPECT_EQ(encodeSegment(core::ProtoTextEncoder(), data).find("tapshim"), std::string::npos);
  EXPECT_EQ(encodeSegment(core::JsonEncoder(false), data).find("tapshim"), std::string::npos);
}

TEST(FormatsTest, InvalidUtf8BodyStaysInAsBytesUnderJsonBodyAsString) {
  core::EventView event;
  event.kind = core::EventKind::kRead;
  event.data = std::string_view("ok\xff\xfe", 4);
  core::SegmentData data;
  data.piece = core::SegmentData::Piece::kEvent;
  data.event = &event;
  const std::string json = encodeSegment(core::JsonEncoder(/*body_as_string=*/true), data);
  EXPECT_NE(json.find("\"as_bytes\": \"b2v//g==\""), std::string::npos) << json;
  EXPECT_EQ(json.find("as_string"), std::string::npos) << json;
  event.data = "valid \xc3\xa9";
  const std::string valid = encodeSegment(core::JsonEncoder(/*body_as_string=*/true), data);
  EXPECT_NE(valid.find("\"as_string\": \"valid \xc3\xa9\""), std::string::npos) << valid;
}

}  // namespace
}  // namespace tapshim::testing
