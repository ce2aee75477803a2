// errno after hooked calls on tapped sockets is what libc set: the shim's
// own work (recording, writing traces) never shows through.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tests/preload/hooks/harness.h"

#define EXPECT_ERRNO(call, expected)                                                             \
  do {                                                                                           \
    errno = 0;                                                                                   \
    const long result_ = (call);                                                                 \
    HOOK_CHECK(result_ == -1 && errno == (expected),                                             \
               std::string(#call) + ": got " + std::to_string(result_) + "/" + strerror(errno)); \
  } while (0)

HOOK_SCENARIO(errno_kept, "") {
  hooks::Pair& p = h.connectPair();
  // Successful calls leave errno as it was.
  errno = 4321;
  HOOK_CHECK(write(p.client.fd, "abc", 3) == 3, "write");
  p.client.sent("abc", 3);
  HOOK_CHECK(errno == 4321, "write changed errno to " + std::to_string(errno));
  char buffer[8];
  HOOK_CHECK(recv(p.server.fd, buffer, 3, MSG_WAITALL) == 3, "recv");
  p.server.received(buffer, 3);
  HOOK_CHECK(errno == 4321, "recv changed errno to " + std::to_string(errno));

  // Failing calls keep libc's errno.
  EXPECT_ERRNO(recv(p.client.fd, buffer, sizeof(buffer), MSG_DONTWAIT), EAGAIN);
  EXPECT_ERRNO(read(-1, buffer, 1), EBADF);
  HOOK_OK(shutdown(p.client.fd, SHUT_WR));
  p.client.shutDown(SHUT_WR);
  EXPECT_ERRNO(send(p.client.fd, "x", 1, MSG_NOSIGNAL), EPIPE);
  EXPECT_ERRNO(write(p.client.fd, "x", 1), EPIPE);
  EXPECT_ERRNO(shutdown(-5, SHUT_RD), EBADF);
  EXPECT_ERRNO(dup2(p.client.fd, -1), EBADF);
  EXPECT_ERRNO(fcntl(p.client.fd, F_DUPFD, -1), EINVAL);
  EXPECT_ERRNO(accept(p.client.fd, nullptr, nullptr), EINVAL);
  h.expectEof(p.server);
}
