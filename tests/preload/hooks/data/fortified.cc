// The _FORTIFY_SOURCE entry points __read_chk, __recv_chk and
// __recvfrom_chk, called directly (glibc declares them only for fortified
// builds): recorded like read, recv and recvfrom.
#include <sys/socket.h>
#include <unistd.h>

#include "tests/preload/hooks/harness.h"

extern "C" {
ssize_t __read_chk(int fd, void* buf, size_t count, size_t buflen);
ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags,
                       struct sockaddr* addr, socklen_t* addrlen);
}

HOOK_SCENARIO(fortified, "") {
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes data = hooks::pattern(90, 1);
  h.writeAll(p.client, data);

  char buffer[90];
  size_t got = 0;
  // 30 bytes with each function (looping in case a call returns fewer).
  for (int which = 0; which < 3; ++which) {
    const size_t end = 30 * (which + 1);
    while (got < end) {
      ssize_t n;
      char* at = buffer + got;
      const size_t want = end - got;
      if (which == 0) {
        n = __read_chk(p.server.fd, at, want, sizeof(buffer) - got);
      } else if (which == 1) {
        n = __recv_chk(p.server.fd, at, want, sizeof(buffer) - got, 0);
      } else {
        sockaddr_storage from{};
        socklen_t length = sizeof(from);
        n = __recvfrom_chk(p.server.fd, at, want, sizeof(buffer) - got, 0,
                           reinterpret_cast<sockaddr*>(&from), &length);
      }
      HOOK_CHECK(n > 0, "fortified read " + std::to_string(which));
      p.server.received(at, n);
      got += static_cast<size_t>(n);
    }
  }
  HOOK_CHECK(hooks::Bytes(buffer, 90) == data, "server received other bytes");

  // And the way back through the client, __recv_chk with MSG_WAITALL.
  const hooks::Bytes reply = hooks::pattern(12, 2);
  h.writeAll(p.server, reply);
  const ssize_t n = __recv_chk(p.client.fd, buffer, 12, sizeof(buffer), MSG_WAITALL);
  HOOK_CHECK(n == 12, "__recv_chk");
  p.client.received(buffer, n);
  HOOK_CHECK(p.client.allReceived() == reply, "client received other bytes");
}
