// readv(2) and writev(2): one event per call, holding the bytes of every
// iovec in order (only as many as the call moved).
#include <sys/uio.h>
#include <unistd.h>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(readv_writev, "") {
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes a = hooks::pattern(10, 1), b = hooks::pattern(0, 2),
                     c = hooks::pattern(300, 3);
  iovec out[3] = {{const_cast<char*>(a.data()), a.size()},
                  {const_cast<char*>(b.data()), b.size()},
                  {const_cast<char*>(c.data()), c.size()}};
  ssize_t n = writev(p.client.fd, out, 3);
  HOOK_CHECK(n == 310, "short writev");
  p.client.sentVector(out, 3, n);

  // Read into three buffers whose total is larger than what was sent: the
  // event holds only the 310 bytes that arrived.
  char first[7], second[100], third[400];
  iovec in[3] = {{first, sizeof(first)}, {second, sizeof(second)}, {third, sizeof(third)}};
  size_t got = 0;
  hooks::Bytes received;
  while (got < 310) {
    n = readv(p.server.fd, in, 3);
    HOOK_CHECK(n > 0, "server readv");
    p.server.receivedVector(in, 3, n);
    got += static_cast<size_t>(n);
  }
  HOOK_CHECK(p.server.allReceived() == a + b + c, "server received other bytes");

  // The way back: writev with a single iovec, readv with one.
  const hooks::Bytes reply = hooks::pattern(64, 4);
  iovec one = {const_cast<char*>(reply.data()), reply.size()};
  n = writev(p.server.fd, &one, 1);
  HOOK_CHECK(n == 64, "short writev");
  p.server.sentVector(&one, 1, n);
  char back[64];
  got = 0;
  while (got < sizeof(back)) {
    iovec part = {back + got, sizeof(back) - got};
    n = readv(p.client.fd, &part, 1);
    HOOK_CHECK(n > 0, "client readv");
    p.client.receivedVector(&part, 1, n);
    got += static_cast<size_t>(n);
  }
  HOOK_CHECK(hooks::Bytes(back, 64) == reply, "client received other bytes");
}
