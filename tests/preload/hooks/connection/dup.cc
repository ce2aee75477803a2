// dup(2), dup2(2), dup3(2): a duplicate is the same connection (one trace);
// the trace is written when the last of its fds is closed; dup2 onto a
// tapped fd closes that connection.
#include <fcntl.h>
#include <unistd.h>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(dup, "") {
  hooks::Pair& p = h.connectPair();
  h.writeAll(p.client, "one");
  const int copy = static_cast<int>(HOOK_OK(dup(p.client.fd)));
  HOOK_OK(close(p.client.fd));  // the copy keeps the connection open
  p.client.fd = copy;
  h.writeAll(p.client, "two");
  HOOK_CHECK(h.readExact(p.server, 6) == "onetwo", "server received other bytes");
  h.writeAll(p.server, "back");
  HOOK_CHECK(h.readExact(p.client, 4) == "back", "client received other bytes");
}

HOOK_SCENARIO(dup2, "") {
  hooks::Pair& a = h.connectPair();
  hooks::Pair& b = h.connectPair();
  h.writeAll(a.client, "a1");
  h.writeAll(b.client, "b1");
  HOOK_CHECK(h.readExact(b.server, 2) == "b1", "b: server received other bytes");
  // b.client's fd now names a's connection: b's client trace is complete.
  HOOK_OK(dup2(a.client.fd, b.client.fd));
  h.expectEof(b.server);
  b.client.closedBySnippet();
  const int old = a.client.fd;
  a.client.fd = b.client.fd;
  h.writeAll(a.client, "a2");
  HOOK_OK(close(old));
  h.writeAll(a.client, "a3");
  HOOK_CHECK(h.readExact(a.server, 6) == "a1a2a3", "a: server received other bytes");
  // dup2 onto itself changes nothing.
  HOOK_CHECK(dup2(a.client.fd, a.client.fd) == a.client.fd, "dup2 onto itself");
  h.writeAll(a.server, "ok");
  HOOK_CHECK(h.readExact(a.client, 2) == "ok", "a: client received other bytes");
}

HOOK_SCENARIO(dup3, "") {
  hooks::Pair& p = h.connectPair();
  const int target = 200;
  HOOK_OK(dup3(p.server.fd, target, O_CLOEXEC));
  HOOK_OK(close(p.server.fd));
  p.server.fd = target;
  h.writeAll(p.client, "via dup3");
  HOOK_CHECK(h.readExact(p.server, 8) == "via dup3", "server received other bytes");
  h.writeAll(p.server, "fine");
  HOOK_CHECK(h.readExact(p.client, 4) == "fine", "client received other bytes");
}
