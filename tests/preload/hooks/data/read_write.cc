// read(2) and write(2): each successful call is one event; a call that
// moves nothing (end of stream) is none.
#include <unistd.h>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(read_write, "") {
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes request = hooks::pattern(300, 1);
  const hooks::Bytes reply = hooks::pattern(200, 2);

  // Two writes from the client, read by the server in three calls.
  ssize_t n = write(p.client.fd, request.data(), 100);
  HOOK_CHECK(n == 100, "short write");
  p.client.sent(request.data(), n);
  n = write(p.client.fd, request.data() + 100, 200);
  HOOK_CHECK(n == 200, "short write");
  p.client.sent(request.data() + 100, n);

  char buffer[300];
  size_t got = 0;
  for (size_t want : {50, 150, 100}) {
    size_t have = 0;
    while (have < want) {  // a read returns what has arrived: each call is an event
      n = read(p.server.fd, buffer + got + have, want - have);
      HOOK_CHECK(n > 0, "server read");
      p.server.received(buffer + got + have, n);
      have += static_cast<size_t>(n);
    }
    got += want;
  }
  HOOK_CHECK(hooks::Bytes(buffer, 300) == request, "server received other bytes");

  // The reply, then end of stream: read() returning 0 is not an event.
  n = write(p.server.fd, reply.data(), reply.size());
  HOOK_CHECK(n == 200, "short write");
  p.server.sent(reply.data(), n);
  HOOK_CHECK(h.readExact(p.client, reply.size()) == reply, "client received other bytes");
  HOOK_OK(shutdown(p.server.fd, SHUT_WR));
  p.server.shutDown(SHUT_WR);
  h.expectEof(p.client);
}
