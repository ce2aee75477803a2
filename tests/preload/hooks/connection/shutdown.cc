// shutdown(2): SHUT_WR (and SHUT_RDWR) right after a write marks that write
// end_stream, as Envoy does for the write that carries the half-close;
// SHUT_RD marks nothing.
#include <sys/socket.h>
#include <unistd.h>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(shutdown, "") {
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes request = hooks::pattern(70, 1);
  h.writeAll(p.client, request.substr(0, 30));
  h.writeAll(p.client, request.substr(30));
  HOOK_OK(shutdown(p.client.fd, SHUT_WR));
  p.client.shutDown(SHUT_WR);
  HOOK_CHECK(h.readExact(p.server, 70) == request, "server received other bytes");
  h.expectEof(p.server);

  // The server shuts its reading side first (no mark), answers, then shuts
  // both directions.
  HOOK_OK(shutdown(p.server.fd, SHUT_RD));
  p.server.shutDown(SHUT_RD);
  h.writeAll(p.server, "reply");
  HOOK_OK(shutdown(p.server.fd, SHUT_RDWR));
  p.server.shutDown(SHUT_RDWR);
  HOOK_CHECK(h.readExact(p.client, 5) == "reply", "client received other bytes");
  h.expectEof(p.client);
}

// A shutdown whose newest event is a read marks nothing.
HOOK_SCENARIO(shutdown_after_read, "") {
  hooks::Pair& p = h.connectPair();
  h.writeAll(p.client, "question");
  h.writeAll(p.server, "answer");
  HOOK_CHECK(h.readExact(p.client, 6) == "answer", "client received other bytes");
  HOOK_OK(shutdown(p.client.fd, SHUT_WR));
  p.client.shutDown(SHUT_WR);
  HOOK_CHECK(h.readExact(p.server, 8) == "question", "server received other bytes");
  h.expectEof(p.server);
}
