#include "tools/tap2pcap/tcp_conversation.h"

#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {
namespace {

constexpr size_t kSynOptionBytes = 8;
// Locally administered MACs: 02:00:00:00:00:01 is the tapped program's side.
constexpr std::array<uint8_t, 6> kLocalMac = {0x02, 0, 0, 0, 0, 0x01};
constexpr std::array<uint8_t, 6> kRemoteMac = {0x02, 0, 0, 0, 0, 0x02};
constexpr uint16_t kWindow = 0xffff;

std::string synOptions(uint16_t mss, uint8_t window_scale) {
  return std::string{2, 4, static_cast<char>(mss >> 8),    static_cast<char>(mss & 0xff), 1,
                     3, 3, static_cast<char>(window_scale)};
}

std::string truncationComment(const TapEvent& event) {
  const char* what = event.kind == TapEvent::Kind::kRead ? "read" : "write";
  if (event.data.empty()) {
    return absl::StrCat("bytes missing: the trace has a ", what,
                        " here whose bytes were not recorded; sequence numbers count recorded "
                        "bytes only");
  }
  return absl::StrCat("truncated ", what, ": only the first ", event.data.size(),
                      " bytes were recorded, the rest is not in the capture; sequence numbers "
                      "count recorded bytes only");
}

void appendComment(std::string* comments, std::string_view comment) {
  if (!comments->empty()) comments->append("\n");
  comments->append(comment);
}

}  // namespace

TcpConversation::TcpConversation(const ConversationEndpoints& endpoints,
                                 std::string connection_comment, CaptureWriter* writer,
                                 bool joined_late)
    : local_is_client_(endpoints.local_is_client),
      joined_late_(joined_late),
      pending_comment_(std::move(connection_comment)),
      writer_(writer) {
  local_.endpoint = endpoints.local;
  local_.local = true;
  remote_.endpoint = endpoints.remote;
  local_.next_seq = local_is_client_ ? kClientInitialSeq : kServerInitialSeq;
  remote_.next_seq = local_is_client_ ? kServerInitialSeq : kClientInitialSeq;
}

void TcpConversation::send(Side& from, const Side& to, uint8_t flags, std::string_view payload,
                           std::string_view options, int64_t time_ns) {
  TcpSegment segment;
  segment.source = from.endpoint;
  segment.destination = to.endpoint;
  segment.seq = from.next_seq;
  segment.ack = (flags & tcp_flags::kAck) != 0 ? to.next_seq : 0;
  segment.flags = flags;
  segment.window = kWindow;
  segment.options = options;
  segment.payload = payload;
  FrameStyle style;
  style.source_mac = from.local ? kLocalMac : kRemoteMac;
  style.destination_mac = from.local ? kRemoteMac : kLocalMac;
  const std::string frame = buildFrame(segment, style);
  CapturedPacket packet;
  packet.time_ns = time_ns;
  packet.frame = frame;
  packet.direction = from.local ? PacketDirection::kOutbound : PacketDirection::kInbound;
  packet.comment = pending_comment_;
  writer_->writePacket(packet);
  pending_comment_.clear();
  from.next_seq += static_cast<uint32_t>(payload.size());
  if ((flags & (tcp_flags::kSyn | tcp_flags::kFin)) != 0) ++from.next_seq;
}

void TcpConversation::open(int64_t time_ns) {
  opened_ = true;
  if (joined_late_) return;  // the handshake happened before the trace began
  Side& client = local_is_client_ ? local_ : remote_;
  Side& server = local_is_client_ ? remote_ : local_;
  const bool ipv6 = local_.endpoint.ipv6;
  const std::string options =
      synOptions(static_cast<uint16_t>(maxTcpPayload(ipv6, 0)), kWindowScale);
  send(client, server, tcp_flags::kSyn, {}, options, time_ns);
  send(server, client, tcp_flags::kSyn | tcp_flags::kAck, {}, options, time_ns);
  send(client, server, tcp_flags::kAck, {}, {}, time_ns);
}

void TcpConversation::sendData(Side& from, Side& to, std::string_view payload, int64_t time_ns) {
  const size_t max_payload = maxTcpPayload(from.endpoint.ipv6, 0);
  while (!payload.empty()) {
    const std::string_view piece = payload.substr(0, max_payload);
    payload.remove_prefix(piece.size());
    const uint8_t flags = payload.empty() ? tcp_flags::kAck | tcp_flags::kPsh : tcp_flags::kAck;
    send(from, to, flags, piece, {}, time_ns);
  }
  send(to, from, tcp_flags::kAck, {}, {}, time_ns);
}

void TcpConversation::onEvent(const TapEvent& event) {
  if (finished_) return;
  if (!opened_) open(event.time_ns);
  if (event.truncated) appendComment(&pending_comment_, truncationComment(event));
  if (event.kind == TapEvent::Kind::kClosed || event.data.empty()) return;
  if (event.kind == TapEvent::Kind::kRead) {
    sendData(remote_, local_, event.data, event.time_ns);
  } else {
    sendData(local_, remote_, event.data, event.time_ns);
  }
}

void TcpConversation::finish(int64_t time_ns) {
  if (finished_) return;
  if (!opened_) open(time_ns);
  finished_ = true;
  send(local_, remote_, tcp_flags::kFin | tcp_flags::kAck, {}, {}, time_ns);
  send(remote_, local_, tcp_flags::kFin | tcp_flags::kAck, {}, {}, time_ns);
  send(local_, remote_, tcp_flags::kAck, {}, {}, time_ns);
}

}  // namespace tapshim::tap2pcap
