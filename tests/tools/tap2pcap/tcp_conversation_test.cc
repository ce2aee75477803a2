#include "tools/tap2pcap/tcp_conversation.h"

#include <gtest/gtest.h>

#include "tests/tools/capture/recording_writer.h"
#include "tools/tap2pcap/envoy_compat_conversation.h"

namespace tapshim::tap2pcap {
namespace testing {

namespace {

using tcp_flags::kAck;
using tcp_flags::kFin;
using tcp_flags::kPsh;
using tcp_flags::kSyn;

ConversationEndpoints endpoints(const char* local, uint16_t local_port, const char* remote,
                                uint16_t remote_port) {
  ConversationEndpoints out;
  out.local = *parseIpAddress(local, local_port);
  out.remote = *parseIpAddress(remote, remote_port);
  out.local_is_client = local_port >= remote_port;
  return out;
}

TapEvent event(TapEvent::Kind kind, int64_t time_ns, std::string data, bool truncated = false) {
  TapEvent out;
  out.kind = kind;
  out.time_ns = time_ns;
  out.has_time = true;
  out.data = std::move(data);
  out.truncated = truncated;
  return out;
}

constexpr auto kRead = TapEvent::Kind::kRead;
constexpr auto kWrite = TapEvent::Kind::kWrite;

TEST(TcpConversationTest, HandshakeDataAcksAndFinContinueSequenceNumbers) {
  RecordingWriter writer;
  TcpConversation conversation(endpoints("10.0.0.1", 40000, "10.0.0.2", 80), "the trace", &writer);
  conversation.onEvent(event(kWrite, 100, "GET /"));
  conversation.onEvent(event(kRead, 200, "HTTP/1.1 200"));
  conversation.onEvent(event(kWrite, 300, "more"));
  conversation.finish(400);
  const auto& p = writer.packets;
  ASSERT_EQ(p.size(), 3u + 2 * 3 + 3);
  const uint32_t c = TcpConversation::kClientInitialSeq;
  const uint32_t s = TcpConversation::kServerInitialSeq;
  // Handshake from the local client (port 40000).
  EXPECT_EQ(p[0].flags, kSyn);
  EXPECT_EQ(p[0].source_port, 40000);
  EXPECT_EQ(p[0].seq, c);
  EXPECT_EQ(p[0].comment, "the trace");
  EXPECT_EQ(p[1].flags, kSyn | kAck);
  EXPECT_EQ(p[1].ack, c + 1);
  EXPECT_EQ(p[2].flags, kAck);
  EXPECT_EQ(p[2].comment, "");
  // Write, then the server's ACK of it.
  EXPECT_EQ(p[3].payload, "GET /");
  EXPECT_EQ(p[3].flags, kAck | kPsh);
  EXPECT_EQ(p[3].seq, c + 1);
  EXPECT_EQ(p[3].ack, s + 1);
  EXPECT_EQ(p[3].direction, PacketDirection::kOutbound);
  EXPECT_EQ(p[4].source_port, 80);
  EXPECT_EQ(p[4].ack, c + 1 + 5);
  EXPECT_EQ(p[4].payload, "");
  // Read from the server, continuing its numbers.
  EXPECT_EQ(p[5].payload, "HTTP/1.1 200");
  EXPECT_EQ(p[5].seq, s + 1);
  EXPECT_EQ(p[5].direction, PacketDirection::kInbound);
  EXPECT_EQ(p[5].time_ns, 200);
  EXPECT_EQ(p[6].ack, s + 1 + 12);
  EXPECT_EQ(p[7].seq, c + 6);
  // FIN exchange, each FIN counting one.
  EXPECT_EQ(p[9].flags, kFin | kAck);
  EXPECT_EQ(p[9].seq, c + 10);
  EXPECT_EQ(p[10].flags, kFin | kAck);
  EXPECT_EQ(p[10].seq, s + 13);
  EXPECT_EQ(p[10].ack, c + 11);
  EXPECT_EQ(p[11].flags, kAck);
  EXPECT_EQ(p[11].ack, s + 14);
  EXPECT_EQ(p[11].time_ns, 400);
}

TEST(TcpConversationTest, RemoteClientWhenItsPortIsHigher) {
  RecordingWriter writer;
  TcpConversation conversation(endpoints("10.0.0.1", 8080, "10.0.0.2", 50000), "", &writer);
  conversation.onEvent(event(kRead, 1, "x"));
  EXPECT_EQ(writer.packets[0].source_port, 50000);
  EXPECT_EQ(writer.packets[0].seq, TcpConversation::kClientInitialSeq);
}

TEST(TcpConversationTest, LargeEventsAreSplitToFit) {
  RecordingWriter writer;
  TcpConversation conversation(endpoints("10.0.0.1", 40000, "10.0.0.2", 80), "", &writer);
  const std::string data(2 * 65495 + 10, 'd');
  conversation.onEvent(event(kWrite, 1, data));
  const auto& p = writer.packets;
  ASSERT_EQ(p.size(), 3u + 3 + 1);
  EXPECT_EQ(p[3].payload.size(), 65495u);
  EXPECT_EQ(p[3].flags, kAck);
  EXPECT_EQ(p[4].seq, p[3].seq + 65495);
  EXPECT_EQ(p[5].payload.size(), 10u);
  EXPECT_EQ(p[5].flags, kAck | kPsh);
  EXPECT_EQ(p[6].ack, p[3].seq + data.size());
  EXPECT_EQ(p[6].payload, "");

  RecordingWriter writer6;
  TcpConversation six(endpoints("::1", 40000, "::2", 80), "", &writer6);
  six.onEvent(event(kWrite, 1, std::string(65516, 'x')));
  EXPECT_EQ(writer6.packets[3].payload.size(), 65515u);
  EXPECT_EQ(writer6.packets[4].payload.size(), 1u);
}

TEST(TcpConversationTest, TruncationCountsRecordedBytesAndLeavesComments) {
  RecordingWriter writer;
  TcpConversation conversation(endpoints("10.0.0.1", 40000, "10.0.0.2", 80), "", &writer);
  conversation.onEvent(event(kWrite, 1, "abc", /*truncated=*/true));
  conversation.onEvent(event(kWrite, 2, "", /*truncated=*/true));  // a gap: no packet
  conversation.onEvent(event(kWrite, 3, "def"));
  const auto& p = writer.packets;
  ASSERT_EQ(p.size(), 3u + 2 + 2);
  EXPECT_NE(p[3].comment.find("truncated write: only the first 3 bytes"), std::string::npos);
  EXPECT_EQ(p[5].seq, p[3].seq + 3);  // no hole for unrecorded bytes
  EXPECT_NE(p[5].comment.find("bytes missing"), std::string::npos);
}

TEST(TcpConversationTest, NoEventsStillOpensAndCloses) {
  RecordingWriter writer;
  TcpConversation conversation(endpoints("10.0.0.1", 40000, "10.0.0.2", 80), "c", &writer);
  conversation.finish(7);
  ASSERT_EQ(writer.packets.size(), 6u);
  EXPECT_EQ(writer.packets[0].comment, "c");
  EXPECT_EQ(writer.packets[5].time_ns, 7);
}

TEST(TcpConversationTest, JoinedLateStartsWithDataAndNoHandshake) {
  RecordingWriter writer;
  TcpConversation conversation(endpoints("10.0.0.1", 40000, "10.0.0.2", 80), "late", &writer,
                               /*joined_late=*/true);
  conversation.onEvent(event(kRead, 100, "mid-stream"));
  conversation.onEvent(event(kWrite, 200, "answer"));
  conversation.finish(300);
  const auto& p = writer.packets;
  ASSERT_EQ(p.size(), 2u * 2 + 3);
  for (const auto& packet : p) EXPECT_EQ(packet.flags & kSyn, 0) << packet.seq;
  // The first packet is the first data, and carries the comment.
  EXPECT_EQ(p[0].payload, "mid-stream");
  EXPECT_EQ(p[0].source_port, 80);
  EXPECT_EQ(p[0].comment, "late");
  EXPECT_EQ(p[1].ack, p[0].seq + 10);
  EXPECT_EQ(p[2].payload, "answer");
  EXPECT_EQ(p[2].ack, p[0].seq + 10);
  EXPECT_EQ(p[4].flags, kFin | kAck);
}

TEST(EnvoyCompatConversationTest, AckOnlyPerDirectionSequenceFromZero) {
  RecordingWriter writer;
  EnvoyCompatConversation conversation(endpoints("127.0.0.1", 10000, "127.0.0.1", 53288), &writer);
  conversation.onEvent(event(kRead, 1'000'001'999, "abcd"));
  conversation.onEvent(event(kWrite, 2'000'000'000, "xy"));
  conversation.onEvent(event(TapEvent::Kind::kClosed, 3'000'000'000, ""));
  conversation.finish(4'000'000'000);
  const auto& p = writer.packets;
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].time_ns, 1'000'001'000);  // microseconds, as Envoy's tool
  EXPECT_EQ(p[0].flags, kAck);
  EXPECT_EQ(p[0].source_port, 53288);
  EXPECT_EQ(p[0].seq, 0u);
  EXPECT_EQ(p[0].ack, 0u);
  EXPECT_EQ(p[0].frame.size(), 54u + 4);
  EXPECT_EQ(p[1].seq, 0u);
  EXPECT_EQ(p[1].ack, 4u);
  EXPECT_EQ(p[1].source_port, 10000);
  EXPECT_EQ(p[0].frame.substr(6, 6), std::string(" SEND\0", 6));
  EXPECT_EQ(p[1].frame.substr(6, 6), std::string(" RECV\0", 6));
}

}  // namespace
}  // namespace testing
}  // namespace tapshim::tap2pcap
