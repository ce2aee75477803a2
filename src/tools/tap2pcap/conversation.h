// Turns one trace's events into packets. Two styles: TcpConversation (a
// complete TCP connection that Wireshark reassembles) and
// EnvoyCompatConversation (the packets of Envoy's own tap2pcap).
#pragma once

#include <memory>
#include <string>

#include "tools/capture/capture_writer.h"
#include "tools/tap2pcap/endpoint_assigner.h"
#include "tools/trace_reader/trace_model.h"

namespace tapshim::tap2pcap {

class Conversation {
 public:
  virtual ~Conversation() = default;
  // Writes the packets of the next event (times never go backwards).
  virtual void onEvent(const TapEvent& event) = 0;
  // Writes the end of the connection at `time_ns`, after the last event.
  virtual void finish(int64_t time_ns) = 0;
};

enum class PacketStyle { kTcp, kEnvoyCompat };

// How the conversation begins: with a handshake, or (a trace that joined
// the connection late, tapshim_process.joined_late) with its first data.
enum class ConversationStart { kHandshake, kJoinedLate };

// @param connection_comment goes on the conversation's first packet
//        (pcapng only; the Envoy style writes no comments).
std::unique_ptr<Conversation> makeConversation(
    PacketStyle style, const ConversationEndpoints& endpoints, std::string connection_comment,
    CaptureWriter* writer, ConversationStart start = ConversationStart::kHandshake);

}  // namespace tapshim::tap2pcap
