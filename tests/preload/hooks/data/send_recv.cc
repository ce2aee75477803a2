// send(2) and recv(2), with flags that do not change what is recorded.
#include <sys/socket.h>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(send_recv, "") {
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes request = hooks::pattern(500, 1);
  ssize_t n = send(p.client.fd, request.data(), 120, MSG_NOSIGNAL);
  HOOK_CHECK(n == 120, "short send");
  p.client.sent(request.data(), n);
  n = send(p.client.fd, request.data() + 120, 380, MSG_MORE);
  HOOK_CHECK(n == 380, "short send");
  p.client.sent(request.data() + 120, n);
  n = send(p.client.fd, request.data(), 0, 0);  // sends nothing: no event
  HOOK_CHECK(n == 0, "empty send");

  char buffer[500];
  n = recv(p.server.fd, buffer, 120, MSG_WAITALL);
  HOOK_CHECK(n == 120, "recv MSG_WAITALL");
  p.server.received(buffer, n);
  n = recv(p.server.fd, buffer + 120, 380, MSG_WAITALL);
  HOOK_CHECK(n == 380, "recv MSG_WAITALL");
  p.server.received(buffer + 120, n);
  HOOK_CHECK(hooks::Bytes(buffer, 500) == request, "server received other bytes");

  const hooks::Bytes reply = hooks::pattern(33, 2);
  n = send(p.server.fd, reply.data(), reply.size(), 0);
  HOOK_CHECK(n == 33, "short send");
  p.server.sent(reply.data(), n);
  n = recv(p.client.fd, buffer, 33, MSG_WAITALL);
  HOOK_CHECK(n == 33, "recv");
  p.client.received(buffer, n);
  HOOK_CHECK(hooks::Bytes(buffer, 33) == reply, "client received other bytes");
}
