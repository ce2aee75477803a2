// sendto(2) and recvfrom(2) on a connected TCP socket (address ignored or
// asked for).
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(sendto_recvfrom, "") {
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes request = hooks::pattern(256, 1);
  ssize_t n = sendto(p.client.fd, request.data(), request.size(), 0, nullptr, 0);
  HOOK_CHECK(n == 256, "short sendto");
  p.client.sent(request.data(), n);

  char buffer[256];
  sockaddr_storage from{};
  socklen_t from_length = sizeof(from);
  n = recvfrom(p.server.fd, buffer, sizeof(buffer), MSG_WAITALL, reinterpret_cast<sockaddr*>(&from),
               &from_length);
  HOOK_CHECK(n == 256, "recvfrom");
  p.server.received(buffer, n);
  HOOK_CHECK(hooks::Bytes(buffer, 256) == request, "server received other bytes");

  const hooks::Bytes reply = hooks::pattern(17, 2);
  n = sendto(p.server.fd, reply.data(), reply.size(), MSG_NOSIGNAL, nullptr, 0);
  HOOK_CHECK(n == 17, "short sendto");
  p.server.sent(reply.data(), n);
  n = recvfrom(p.client.fd, buffer, 17, MSG_WAITALL, nullptr, nullptr);
  HOOK_CHECK(n == 17, "recvfrom");
  p.client.received(buffer, n);
  HOOK_CHECK(hooks::Bytes(buffer, 17) == reply, "client received other bytes");
}
