// The tappers hand the sink long event data where it lies: streamed per
// event, the program's own buffer; batched, the batch (the one copy a
// batch needs, since the program reuses its buffer); buffered, the trace's
// event log. A sink that keeps each message's part addresses shows it.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/tapper/buffered_tapper.h"
#include "tap_core/tapper/streamed_tapper.h"
#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/support/proto_test_util.h"

namespace tapshim::testing {
namespace {

constexpr size_t k64KiB = 64 * 1024;

// Keeps every message apart, with where each of its parts lay.
class PartsRecordingSink final : public core::Sink {
 public:
  struct Message {
    std::vector<iovec> parts;  // addresses only: the memory may be gone
    std::string bytes;
  };

  int open(uint64_t* trace_id, std::string_view /*extension*/) override {
    if (moved_id_ != 0) *trace_id = moved_id_;
    return 3;
  }
  bool writeParts(int /*token*/, const iovec* parts, int count) override {
    EXPECT_GE(count, 1);
    EXPECT_LE(count, kMaxParts);
    Message& message = messages_.emplace_back();
    for (int i = 0; i < count; ++i) {
      message.parts.push_back(parts[i]);
      message.bytes.append(static_cast<const char*>(parts[i].iov_base), parts[i].iov_len);
    }
    return true;
  }
  void close(int /*token*/) override {}

  // Every later open() moves the trace to `id` (the file sink's EEXIST).
  void moveTracesTo(uint64_t id) { moved_id_ = id; }
  const std::vector<Message>& messages() const { return messages_; }

 private:
  std::vector<Message> messages_;
  uint64_t moved_id_ = 0;
};

bool hasPartAt(const PartsRecordingSink::Message& message, const void* base, size_t size) {
  for (const iovec& part : message.parts) {
    if (part.iov_base == base && part.iov_len == size) return true;
  }
  return false;
}

// The parts of `message` exactly `size` long that do not start at `not_at`.
int partsOfSizeElsewhere(const PartsRecordingSink::Message& message, size_t size,
                         const void* not_at) {
  int count = 0;
  for (const iovec& part : message.parts) count += part.iov_len == size && part.iov_base != not_at;
  return count;
}

class TapperPartsTest : public ::testing::Test {
 protected:
  TapperPartsTest() {
    context_.clock = &clock_;
    context_.sink = &sink_;
    context_.encoder = &encoder_;
    context_.ids = &ids_;
    context_.max_buffered_rx_bytes = k64KiB;
    context_.max_buffered_tx_bytes = k64KiB;
    connection_.local = core::Address::ip("127.0.0.1", 1000);
    connection_.remote = core::Address::ip("10.0.0.3", 50000);
  }

  static void write(core::PerSocketTapper& tapper, std::string_view data) {
    iovec slice{const_cast<char*>(data.data()), data.size()};
    tapper.onWrite(core::IoSlices(&slice, 1, data.size()));
  }

  FakeClock clock_;
  PartsRecordingSink sink_;
  core::ProtoBinaryEncoder encoder_;
  core::TraceIds ids_;
  core::TapperContext context_;
  core::ConnectionInfo connection_;
};

TEST_F(TapperPartsTest, StreamedPerEventPointsAtTheProgramsBuffer) {
  context_.streaming = true;
  core::StreamedTapper tapper(context_, /*trace_id=*/1);
  tapper.onEstablished(connection_);
  const std::string program_buffer(k64KiB, 'p');
  write(tapper, program_buffer);
  ASSERT_EQ(sink_.messages().size(), 2u);  // the connection, the event
  const PartsRecordingSink::Message& event = sink_.messages()[1];
  EXPECT_LE(event.parts.size(), 3u);
  EXPECT_TRUE(hasPartAt(event, program_buffer.data(), k64KiB));
  const TraceWrapper trace = parseTrace(event.bytes);
  EXPECT_EQ(trace.socket_streamed_trace_segment().event().write().data().as_bytes(),
            program_buffer);
}

TEST_F(TapperPartsTest, StreamedFirstSegmentIsEncodedAgainWithTheIdTheSinkGave) {
  context_.streaming = true;
  sink_.moveTracesTo(99);
  core::StreamedTapper tapper(context_, /*trace_id=*/1);
  tapper.onEstablished(connection_);
  write(tapper, std::string(k64KiB, 'r'));
  ASSERT_EQ(sink_.messages().size(), 2u);
  for (const PartsRecordingSink::Message& message : sink_.messages()) {
    EXPECT_EQ(parseTrace(message.bytes).socket_streamed_trace_segment().trace_id(), 99u);
  }
}

TEST_F(TapperPartsTest, StreamedPerEventCopiesScatteredBytesIntoOneOfItsParts) {
  context_.streaming = true;
  core::StreamedTapper tapper(context_, /*trace_id=*/1);
  tapper.onEstablished(connection_);
  std::string first(k64KiB / 2, 'a'), second(k64KiB / 2, 'b');
  iovec slices[] = {{first.data(), first.size()}, {second.data(), second.size()}};
  tapper.onWrite(core::IoSlices(slices, 2, k64KiB));
  ASSERT_EQ(sink_.messages().size(), 2u);
  const TraceWrapper trace = parseTrace(sink_.messages()[1].bytes);
  EXPECT_EQ(trace.socket_streamed_trace_segment().event().write().data().as_bytes(),
            first + second);
}

TEST_F(TapperPartsTest, StreamedBatchIsWrittenFromTheBatchWithoutAnotherCopy) {
  context_.streaming = true;
  context_.min_streamed_sent_bytes = 2 * k64KiB;
  core::StreamedTapper tapper(context_, /*trace_id=*/1);
  tapper.onEstablished(connection_);
  // The program reuses its buffer: the batch must hold its own copy.
  std::string program_buffer(k64KiB, 'a');
  write(tapper, program_buffer);
  program_buffer.assign(k64KiB, 'b');
  write(tapper, program_buffer);
  ASSERT_EQ(sink_.messages().size(), 2u);  // the connection, the batch
  const PartsRecordingSink::Message& batch = sink_.messages()[1];
  // Each event's data is a part of its own: not copied into the encoded
  // fields, nor pointing at the program's (reused) buffer.
  EXPECT_EQ(partsOfSizeElsewhere(batch, k64KiB, program_buffer.data()), 2);
  const TraceWrapper trace = parseTrace(batch.bytes);
  const auto& events = trace.socket_streamed_trace_segment().events().events();
  ASSERT_EQ(events.size(), 2);
  EXPECT_EQ(events[0].write().data().as_bytes(), std::string(k64KiB, 'a'));
  EXPECT_EQ(events[1].write().data().as_bytes(), std::string(k64KiB, 'b'));
}

TEST_F(TapperPartsTest, BufferedWithRaisedLimitsWritesFromItsEventLog) {
  core::BufferedTapper tapper(context_, /*trace_id=*/1);
  const std::string program_buffer(k64KiB, 'q');
  write(tapper, program_buffer);
  tapper.onClose(connection_);
  ASSERT_EQ(sink_.messages().size(), 1u);
  EXPECT_EQ(partsOfSizeElsewhere(sink_.messages()[0], k64KiB, program_buffer.data()), 1);
  const TraceWrapper trace = parseTrace(sink_.messages()[0].bytes);
  EXPECT_EQ(trace.socket_buffered_trace().events(0).write().data().as_bytes(), program_buffer);
}

}  // namespace
}  // namespace tapshim::testing
