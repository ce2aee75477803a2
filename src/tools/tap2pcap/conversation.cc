#include "tools/tap2pcap/conversation.h"

#include "tools/tap2pcap/envoy_compat_conversation.h"
#include "tools/tap2pcap/tcp_conversation.h"

namespace tapshim::tap2pcap {

std::unique_ptr<Conversation> makeConversation(PacketStyle style,
                                               const ConversationEndpoints& endpoints,
                                               std::string connection_comment,
                                               CaptureWriter* writer, ConversationStart start) {
  if (style == PacketStyle::kEnvoyCompat) {
    return std::make_unique<EnvoyCompatConversation>(endpoints, writer);
  }
  return std::make_unique<TcpConversation>(endpoints, std::move(connection_comment), writer,
                                           start == ConversationStart::kJoinedLate);
}

}  // namespace tapshim::tap2pcap
