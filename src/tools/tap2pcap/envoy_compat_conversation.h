// Envoy's tap2pcap, packet for packet (envoy-tap-format.md 5.2 step 5):
// what text2pcap -D -4|-6 REMOTE,LOCAL -T RPORT,LPORT makes of Envoy's text
// dump. One ACK-only packet per read or write (split only if it cannot fit),
// window 0x2000, IP TTL 255 and id 0x1234, no DF, per-direction sequence
// numbers from 0, ack = the peer's next sequence number, the MACs text2pcap
// writes (" SEND" for reads, " RECV" for writes, as source), times cut to
// microseconds. No handshake, no FIN, no comments; closes are ignored.
#pragma once

#include "tools/capture/packet_builder.h"
#include "tools/tap2pcap/conversation.h"

namespace tapshim::tap2pcap {

class EnvoyCompatConversation : public Conversation {
 public:
  EnvoyCompatConversation(const ConversationEndpoints& endpoints, CaptureWriter* writer)
      : endpoints_(endpoints), writer_(writer) {}

  // Conversation
  void onEvent(const TapEvent& event) override;
  void finish(int64_t) override {}

 private:
  const ConversationEndpoints endpoints_;
  CaptureWriter* const writer_;
  uint32_t local_next_seq_ = 0;
  uint32_t remote_next_seq_ = 0;
};

}  // namespace tapshim::tap2pcap
