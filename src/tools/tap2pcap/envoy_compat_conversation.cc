#include "tools/tap2pcap/envoy_compat_conversation.h"

namespace tapshim::tap2pcap {
namespace {

// text2pcap's dummy Ethernet addresses (" SEND\0" and " RECV\0").
constexpr std::array<uint8_t, 6> kSendMac = {0x20, 0x53, 0x45, 0x4e, 0x44, 0x00};
constexpr std::array<uint8_t, 6> kRecvMac = {0x20, 0x52, 0x45, 0x43, 0x56, 0x00};
constexpr uint16_t kWindow = 0x2000;
constexpr uint8_t kTtl = 255;
constexpr uint16_t kIpId = 0x1234;

}  // namespace

void EnvoyCompatConversation::onEvent(const TapEvent& event) {
  if (event.kind == TapEvent::Kind::kClosed || event.data.empty()) return;
  const bool inbound = event.kind == TapEvent::Kind::kRead;
  FrameStyle style;
  style.source_mac = inbound ? kSendMac : kRecvMac;
  style.destination_mac = inbound ? kRecvMac : kSendMac;
  style.ttl = kTtl;
  style.ip_id = kIpId;
  style.dont_fragment = false;
  uint32_t& seq = inbound ? remote_next_seq_ : local_next_seq_;
  const uint32_t& peer_seq = inbound ? local_next_seq_ : remote_next_seq_;
  // Python's Timestamp.ToDatetime() keeps microseconds only.
  const int64_t time_ns = event.time_ns - event.time_ns % 1000;
  std::string_view payload = event.data;
  const size_t max_payload = maxTcpPayload(endpoints_.local.ipv6, 0);
  while (!payload.empty()) {
    TcpSegment segment;
    segment.source = inbound ? endpoints_.remote : endpoints_.local;
    segment.destination = inbound ? endpoints_.local : endpoints_.remote;
    segment.seq = seq;
    segment.ack = peer_seq;
    segment.flags = tcp_flags::kAck;
    segment.window = kWindow;
    segment.payload = payload.substr(0, max_payload);
    payload.remove_prefix(segment.payload.size());
    const std::string frame = buildFrame(segment, style);
    CapturedPacket packet;
    packet.time_ns = time_ns;
    packet.frame = frame;
    packet.direction = inbound ? PacketDirection::kInbound : PacketDirection::kOutbound;
    writer_->writePacket(packet);
    seq += static_cast<uint32_t>(segment.payload.size());
  }
}

}  // namespace tapshim::tap2pcap
