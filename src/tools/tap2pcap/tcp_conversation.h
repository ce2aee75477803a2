// A complete TCP connection per trace:
//  - SYN, SYN-ACK, ACK at the first event, from the client side (see
//    ConversationEndpoints), with MSS and window scale 14, so that no
//    window ever fills;
//  - each read (remote to local) or write (local to remote) as segments
//    of at most maxTcpPayload bytes, PSH on the last, then one pure ACK from
//    the receiver that acknowledges the whole event, so every ACK is new
//    (Wireshark's tcp.analysis.flags stays empty);
//  - sequence numbers that count recorded bytes only: a truncated event
//    or a gap is a comment on the next packet, never a hole in the stream;
//  - FIN from local, FIN from remote and the last ACK at the end.
// A trace that joined its connection late (tapping began with it open) has
// no handshake: its first packet is its first data, and Wireshark, seeing
// no SYN, still follows and reassembles the stream from there (it then
// knows no window scale, and so never judges a window full).
#pragma once

#include <string>

#include "tools/capture/packet_builder.h"
#include "tools/tap2pcap/conversation.h"

namespace tapshim::tap2pcap {

class TcpConversation : public Conversation {
 public:
  TcpConversation(const ConversationEndpoints& endpoints, std::string connection_comment,
                  CaptureWriter* writer, bool joined_late = false);

  // Conversation
  void onEvent(const TapEvent& event) override;
  void finish(int64_t time_ns) override;

  static constexpr uint32_t kClientInitialSeq = 0x10000000;
  static constexpr uint32_t kServerInitialSeq = 0x20000000;
  static constexpr uint8_t kWindowScale = 14;

 private:
  struct Side {
    IpEndpoint endpoint;
    uint32_t next_seq = 0;
    bool local = false;
  };

  void open(int64_t time_ns);
  // Sends `payload` from `from` to `to` as one or more segments.
  void sendData(Side& from, Side& to, std::string_view payload, int64_t time_ns);
  void send(Side& from, const Side& to, uint8_t flags, std::string_view payload,
            std::string_view options, int64_t time_ns);

  Side local_;
  Side remote_;
  bool local_is_client_;
  const bool joined_late_;
  std::string pending_comment_;
  CaptureWriter* const writer_;
  bool opened_ = false;
  bool finished_ = false;
};

}  // namespace tapshim::tap2pcap
