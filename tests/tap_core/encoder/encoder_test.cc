// ProtoBinaryEncoder against libprotobuf: the shim encodes traces itself
// (it cannot link libprotobuf), so every byte must equal what libprotobuf
// serializes from the same schema.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tap_core/base/byte_buffer.h"
#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/encoder/proto_wire.h"
#include "tests/tap_core/support/proto_test_util.h"
#include "tests/tap_core/support/trace_builders.h"

namespace tapshim::testing {
namespace {

using core::Address;
using core::EventKind;

constexpr int kRandomCases = 500;
constexpr uint64_t kSeed = 20260214;

TEST(ProtoBinaryEncoderTest, RandomTracesEqualLibprotobufByteForByte) {
  std::mt19937_64 random(kSeed);
  for (int i = 0; i < kRandomCases; ++i) {
    const TraceSpec trace = randomTrace(random);
    const envoy::data::tap::v3::TraceWrapper expected = toProto(trace);
    const std::string shim = encodeWithShim(trace);
    SCOPED_TRACE("case " + std::to_string(i) + " of seed " + std::to_string(kSeed) + ":\n" +
                 expected.DebugString());
    ASSERT_EQ(hex(shim), hex(expected.SerializeAsString()));
    // And the other way: libprotobuf reads the shim's bytes back as the
    // same message, with nothing left over as unknown fields.
    TraceWrapper parsed = parseTrace(shim);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, expected));
    EXPECT_TRUE(parsed.socket_buffered_trace()
                    .GetReflection()
                    ->GetUnknownFields(parsed.socket_buffered_trace())
                    .empty());
  }
}

// The random traces must actually reach the edges they are meant to.
TEST(ProtoBinaryEncoderTest, RandomTracesCoverTheEdgeCases) {
  std::mt19937_64 random(kSeed);
  bool id_zero = false, id_max = false, empty_data = false, negative_time = false,
       zero_time = false, ipv6 = false, pipe = false, unknown = false, port_zero = false,
       process = false, no_process = false, truncated = false, end_stream = false,
       joined_late = false;
  for (int i = 0; i < kRandomCases; ++i) {
    const TraceSpec trace = randomTrace(random);
    id_zero |= trace.trace_id == 0;
    id_max |= trace.trace_id == UINT64_MAX;
    process |= trace.process.has_value();
    no_process |= !trace.process.has_value();
    truncated |= trace.read_truncated || trace.write_truncated;
    if (trace.connection) {
      joined_late |= trace.process.has_value() && trace.connection->joined_late;
      for (const Address* address : {&trace.connection->local, &trace.connection->remote}) {
        ipv6 |= address->kind == Address::Kind::kIp &&
                address->textView().find(':') != std::string::npos;
        pipe |= address->kind == Address::Kind::kPipe;
        unknown |= !address->known();
        port_zero |= address->kind == Address::Kind::kIp && address->port == 0;
      }
    }
    for (const EventSpec& event : trace.events) {
      empty_data |= event.kind != EventKind::kClosed && event.data.empty();
      negative_time |= event.timestamp_ns < 0;
      zero_time |= event.timestamp_ns == 0;
      truncated |= event.truncated;
      end_stream |= event.end_stream;
    }
  }
  EXPECT_TRUE(id_zero && id_max && empty_data && negative_time && zero_time && ipv6 && pipe &&
              unknown && port_zero && process && no_process && truncated && end_stream &&
              joined_late);
}

// The writer reads nested sizes back from a SizeTape the counting pass
// filled, up to its capacity; a message with more nested messages is
// measured as it is written. Both sides of that edge equal libprotobuf.
TEST(ProtoBinaryEncoderTest, MessagesAroundTheSizeTapesCapacityEqualLibprotobuf) {
  std::mt19937_64 random(kSeed);
  TraceSpec base = randomTrace(random);
  base.connection = core::ConnectionInfo{};
  base.connection->local = Address::ip("10.0.0.1", 1);
  base.connection->remote = Address::ip("10.0.0.2", 2);
  base.events_as_null = false;
  // 1 wrapper + 5 for the connection + 4 per event (+1 for the process).
  const int events_to_fill = (core::wire::SizeTape::kCapacity - 7) / 4;
  for (int count = events_to_fill - 2; count <= events_to_fill + 2; ++count) {
    TraceSpec trace = base;
    trace.events.clear();
    for (int i = 0; i < count; ++i) {
      EventSpec event;
      event.timestamp_ns = 1000 + i;
      event.kind = i % 2 == 0 ? EventKind::kRead : EventKind::kWrite;
      event.data = std::string(static_cast<size_t>(i) * 37 % 300, static_cast<char>('a' + i % 26));
      trace.events.push_back(event);
    }
    SCOPED_TRACE(std::to_string(count) + " events");
    EXPECT_EQ(hex(encodeWithShim(trace)), hex(toProto(trace).SerializeAsString()));
  }
}

TEST(ProtoBinaryEncoderTest, EmptyReadStillCarriesAsBytesAndTimestamp) {
  TraceSpec trace;
  trace.trace_id = 0;
  trace.events.push_back(EventSpec{0, EventKind::kRead, "", true, false, 0});
  // 1a: socket_buffered_trace; 1a: event; 0a 00: timestamp {}; 12: read;
  // 0a: data; 0a 00: as_bytes ""; 18 01: truncated.
  EXPECT_EQ(hex(encodeWithShim(trace)), "1a0c1a0a0a0012060a040a001801");
  EXPECT_EQ(hex(encodeWithShim(trace)), hex(toProto(trace).SerializeAsString()));
}

TEST(ProtoBinaryEncoderTest, IpAddressWithPortZeroKeepsPortValue) {
  TraceSpec trace;
  core::ConnectionInfo connection;
  connection.remote = Address::ip("::1", 0);
  trace.connection = connection;
  // 12: connection; 12: remote_address; 0a: socket_address; 12 03 "::1";
  // 18 00: port_value 0 (a oneof member, so written).
  EXPECT_EQ(hex(encodeWithShim(trace)),
            "1a0d120b1209"
            "0a07"
            "12033a3a31"
            "1800");
}

TEST(ProtoBinaryEncoderTest, AppendsAfterWhatTheBufferAlreadyHolds) {
  core::ConnectionInfo connection;
  core::BufferedTraceData data;
  data.trace_id = 5;
  data.connection = &connection;
  core::ByteBuffer out;
  ASSERT_TRUE(out.append("xy", 2));
  ASSERT_TRUE(core::ProtoBinaryEncoder().encodeBuffered(data, &out));
  EXPECT_EQ(hex(out.view()), hex("xy") +
                                 "1a04"
                                 "0805"
                                 "1200");
}

TEST(ProtoBinaryEncoderTest, NamesFilesLikeEnvoyProtoBinary) {
  EXPECT_EQ(core::ProtoBinaryEncoder().extension(), ".pb");
}

}  // namespace
}  // namespace tapshim::testing
