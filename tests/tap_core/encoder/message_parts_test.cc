// Messages encoded as parts (encodeSegmentParts, encodeBufferedParts):
// joined, the parts are the very bytes encodeSegment / encodeBuffered
// write (which formats_test holds equal to libprotobuf's); long event data
// is pointed at where it lies, short data copied; and a message never
// needs more than Sink::kMaxParts parts.
#include "tap_core/encoder/message_parts.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "tap_core/base/byte_buffer.h"
#include "tap_core/encoder/json_encoder.h"
#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/encoder/proto_text_encoder.h"
#include "tap_core/sink/sink.h"
#include "tests/tap_core/support/proto_test_util.h"
#include "tests/tap_core/support/trace_builders.h"

namespace tapshim::testing {
namespace {

using core::SegmentData;
using core::wire::ReferencePolicy;

constexpr int kRandomCases = 400;
constexpr uint64_t kSeed = 20261127;
constexpr size_t kThreshold = ReferencePolicy::kMinReferencedBytes;

std::string joined(const core::MessageParts& parts) {
  std::string out;
  for (int i = 0; i < parts.count(); ++i) {
    out.append(static_cast<const char*>(parts.data()[i].iov_base), parts.data()[i].iov_len);
  }
  return out;
}

// Whether one part is exactly `bytes`, in place (not a copy of them).
bool isPointedAt(const core::MessageParts& parts, std::string_view bytes) {
  for (int i = 0; i < parts.count(); ++i) {
    if (parts.data()[i].iov_base == bytes.data() && parts.data()[i].iov_len == bytes.size()) {
      return true;
    }
  }
  return false;
}

// Whether any part starts inside `bytes`.
bool pointsInside(const core::MessageParts& parts, std::string_view bytes) {
  for (int i = 0; i < parts.count(); ++i) {
    const char* base = static_cast<const char*>(parts.data()[i].iov_base);
    if (base >= bytes.data() && base < bytes.data() + bytes.size()) return true;
  }
  return false;
}

// Event data around the threshold and well past it, besides
// randomTrace's own (mostly short) sizes.
void resizeDataRandomly(std::mt19937_64& random, TraceSpec* trace) {
  static constexpr size_t kSizes[] = {0,    1,     kThreshold - 1, kThreshold, kThreshold + 1,
                                      4096, 16384, 65536 + 7};
  for (EventSpec& event : trace->events) {
    if (event.kind == core::EventKind::kClosed || random() % 3 == 0) continue;
    event.data.assign(kSizes[random() % std::size(kSizes)], '\0');
    for (char& c : event.data) c = static_cast<char>(random());
  }
}

// A random segment of any piece, with the data it points at.
struct SegmentCase {
  TraceSpec trace;
  core::EventLog events;
  core::EventView event;
  SegmentData data;
};

std::unique_ptr<SegmentCase> randomSegment(std::mt19937_64& random) {
  auto segment = std::make_unique<SegmentCase>();
  TraceSpec& trace = segment->trace;
  trace = randomTrace(random);
  resizeDataRandomly(random, &trace);
  if (!trace.connection) trace.connection = core::ConnectionInfo{};
  SegmentData& data = segment->data;
  data.trace_id = trace.trace_id;
  data.process = trace.process ? &*trace.process : nullptr;
  if (random() % 2 == 0) data.event_connection = &*trace.connection;
  switch (random() % 3) {
    case 0:
      data.piece = SegmentData::Piece::kConnection;
      data.connection = &*trace.connection;
      break;
    case 1: {
      if (trace.events.empty()) trace.events.emplace_back();
      const EventSpec& spec = trace.events[0];
      data.piece = SegmentData::Piece::kEvent;
      segment->event = {spec.timestamp_ns, spec.kind,       spec.data,
                        spec.truncated,    spec.end_stream, spec.seq_num};
      data.event = &segment->event;
      break;
    }
    default:
      data.piece = SegmentData::Piece::kEvents;
      fillEventLog(trace.events, &segment->events);
      data.events = &segment->events;
      break;
  }
  return segment;
}

// Every event's data the segment carries, where the encoder reads it.
std::vector<std::string_view> eventData(const SegmentCase& segment) {
  std::vector<std::string_view> out;
  if (segment.data.piece == SegmentData::Piece::kEvent) out.push_back(segment.event.data);
  if (segment.data.piece == SegmentData::Piece::kEvents) {
    segment.events.forEach([&](const core::EventView& event) { out.push_back(event.data); });
  }
  return out;
}

std::string encodeSegment(const core::TraceEncoder& encoder, const SegmentData& data) {
  core::ByteBuffer out;
  EXPECT_TRUE(encoder.encodeSegment(data, &out));
  return std::string(out.view());
}

TEST(MessagePartsTest, RandomSegmentsJoinToEncodeSegmentsBytesInBothFramings) {
  std::mt19937_64 random(kSeed);
  const core::ProtoBinaryEncoder binary;
  const core::ProtoBinaryEncoder delimited(/*length_delimited=*/true);
  // Kept across cases, as a tapper keeps them: a message that needs more
  // scratch than the last one must still get parts that point into it.
  core::ByteBuffer scratch;
  core::MessageParts parts;
  int referenced = 0, copied = 0;
  for (int i = 0; i < kRandomCases; ++i) {
    std::unique_ptr<SegmentCase> segment = randomSegment(random);
    SCOPED_TRACE("case " + std::to_string(i));
    for (const core::ProtoBinaryEncoder* encoder : {&binary, &delimited}) {
      ASSERT_TRUE(encoder->encodeSegmentParts(segment->data, &scratch, &parts));
      ASSERT_GE(parts.count(), 1);
      ASSERT_LE(parts.count(), core::Sink::kMaxParts);
      const std::string bytes = joined(parts);
      ASSERT_EQ(hex(bytes), hex(encodeSegment(*encoder, segment->data)));
      for (std::string_view data : eventData(*segment)) {
        if (data.size() >= kThreshold) {
          ++referenced;
          EXPECT_TRUE(isPointedAt(parts, data)) << data.size() << " bytes were copied";
        } else {
          ++copied;
          EXPECT_FALSE(pointsInside(parts, data)) << data.size() << " bytes were pointed at";
        }
      }
    }
    // libprotobuf reads the plain message back and writes the same bytes.
    ASSERT_TRUE(binary.encodeSegmentParts(segment->data, &scratch, &parts));
    EXPECT_EQ(hex(parseTrace(joined(parts)).SerializeAsString()), hex(joined(parts)));
  }
  // Both kinds of event data must have come up often.
  EXPECT_GT(referenced, kRandomCases / 2);
  EXPECT_GT(copied, kRandomCases / 2);
}

TEST(MessagePartsTest, RandomBufferedTracesJoinToLibprotobufsBytes) {
  std::mt19937_64 random(kSeed + 1);
  const core::ProtoBinaryEncoder binary;
  const core::ProtoBinaryEncoder delimited(/*length_delimited=*/true);
  core::ByteBuffer scratch;
  core::MessageParts parts;
  for (int i = 0; i < kRandomCases; ++i) {
    TraceSpec trace = randomTrace(random);
    resizeDataRandomly(random, &trace);
    SCOPED_TRACE("case " + std::to_string(i));
    core::EventLog events;
    fillEventLog(trace.events, &events);
    const core::BufferedTraceData data = bufferedTraceData(trace, events);
    ASSERT_TRUE(binary.encodeBufferedParts(data, &scratch, &parts));
    ASSERT_EQ(hex(joined(parts)), hex(toProto(trace).SerializeAsString()));
    ASSERT_TRUE(delimited.encodeBufferedParts(data, &scratch, &parts));
    ASSERT_EQ(hex(joined(parts)), hex(encodeWithShim(trace, delimited)));
  }
}

// One event whose data is `size` bytes of the "program's" buffer.
struct OneEvent {
  explicit OneEvent(size_t size) : bytes(size, 'x') {
    event.kind = core::EventKind::kWrite;
    event.data = bytes;
    event.seq_num = 1;
    segment.trace_id = 7;
    segment.piece = SegmentData::Piece::kEvent;
    segment.event = &event;
  }
  std::string bytes;
  core::EventView event;
  SegmentData segment;
};

TEST(MessagePartsTest, DataFromTheThresholdOnIsPointedAtShorterDataIsCopied) {
  const core::ProtoBinaryEncoder delimited(/*length_delimited=*/true);
  core::ByteBuffer scratch;
  core::MessageParts parts;

  const OneEvent long_event(kThreshold);
  ASSERT_TRUE(delimited.encodeSegmentParts(long_event.segment, &scratch, &parts));
  // The fields before the data, the data itself, seq_num after it.
  ASSERT_EQ(parts.count(), 3);
  EXPECT_EQ(parts.data()[1].iov_base, long_event.bytes.data());
  EXPECT_EQ(parts.data()[1].iov_len, kThreshold);
  EXPECT_EQ(joined(parts), encodeSegment(delimited, long_event.segment));

  const OneEvent short_event(kThreshold - 1);
  ASSERT_TRUE(delimited.encodeSegmentParts(short_event.segment, &scratch, &parts));
  ASSERT_EQ(parts.count(), 1);
  EXPECT_EQ(parts.data()[0].iov_base, scratch.data());
  EXPECT_EQ(joined(parts), encodeSegment(delimited, short_event.segment));
}

TEST(MessagePartsTest, ABatchOfManyLongEventsStaysWithinThePartBudget) {
  constexpr int kEvents = 5000;
  std::vector<EventSpec> specs(kEvents);
  for (int i = 0; i < kEvents; ++i) {
    specs[i].kind = i % 2 == 0 ? core::EventKind::kRead : core::EventKind::kWrite;
    specs[i].data.assign(kThreshold + 88, static_cast<char>('a' + i % 26));
    specs[i].seq_num = static_cast<uint64_t>(i) + 1;
  }
  core::EventLog events;
  fillEventLog(specs, &events);
  SegmentData segment;
  segment.trace_id = 7;
  segment.piece = SegmentData::Piece::kEvents;
  segment.events = &events;
  for (bool length_delimited : {false, true}) {
    const core::ProtoBinaryEncoder encoder(length_delimited);
    core::ByteBuffer scratch;
    core::MessageParts parts;
    ASSERT_TRUE(encoder.encodeSegmentParts(segment, &scratch, &parts));
    EXPECT_LE(parts.count(), core::Sink::kMaxParts);
    EXPECT_EQ(joined(parts), encodeSegment(encoder, segment));
    // The budget is spent on references, the first events' data, before
    // the rest is copied.
    int pointed_at = 0;
    events.forEach(
        [&](const core::EventView& event) { pointed_at += isPointedAt(parts, event.data); });
    EXPECT_EQ(pointed_at, ReferencePolicy::kMaxReferences);
  }
}

TEST(MessagePartsTest, TextAndJsonComeAsOnePartOfTheirEncodedBytes) {
  const core::ProtoTextEncoder text;
  const core::JsonEncoder json(/*body_as_string=*/false);
  const OneEvent event(4096);
  core::ByteBuffer scratch;
  core::MessageParts parts;
  for (const core::TraceEncoder* encoder : {static_cast<const core::TraceEncoder*>(&text),
                                            static_cast<const core::TraceEncoder*>(&json)}) {
    ASSERT_TRUE(encoder->encodeSegmentParts(event.segment, &scratch, &parts));
    ASSERT_EQ(parts.count(), 1);
    EXPECT_EQ(joined(parts), encodeSegment(*encoder, event.segment));
  }
}

}  // namespace
}  // namespace tapshim::testing
