// MSG_PEEK: peeked bytes are not recorded (the read that takes them is, once).
// MSG_TRUNC on TCP: the kernel discards the bytes; the trace shows a gap (an
// empty read event, truncated).
#include <poll.h>
#include <sys/socket.h>

#include "tests/preload/hooks/harness.h"

extern "C" ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags);

namespace {

// Waits until `size` bytes are queued on `fd`, peeking (MSG_PEEK: no event).
void waitQueued(int fd, size_t size) {
  char buffer[256];
  for (;;) {
    const ssize_t n = recv(fd, buffer, size, MSG_PEEK);
    HOOK_CHECK(n > 0, "peek");
    if (static_cast<size_t>(n) >= size) return;
    pollfd ready = {fd, POLLIN, 0};
    poll(&ready, 1, 10);
  }
}

}  // namespace

HOOK_SCENARIO(msg_peek, "") {
  hooks::Pair& p = h.connectPair();
  h.writeAll(p.client, "hello world");
  waitQueued(p.server.fd, 11);
  char buffer[16] = {};
  HOOK_CHECK(recv(p.server.fd, buffer, 5, MSG_PEEK) == 5 && hooks::Bytes(buffer, 5) == "hello",
             "recv peek");
  HOOK_CHECK(recvfrom(p.server.fd, buffer, 8, MSG_PEEK, nullptr, nullptr) == 8, "recvfrom peek");
  HOOK_CHECK(__recv_chk(p.server.fd, buffer, 3, sizeof(buffer), MSG_PEEK) == 3, "__recv_chk peek");
  iovec iov = {buffer, 11};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  HOOK_CHECK(recvmsg(p.server.fd, &message, MSG_PEEK) == 11, "recvmsg peek");
  const ssize_t n = recv(p.server.fd, buffer, 11, 0);
  HOOK_CHECK(n == 11, "recv");
  p.server.received(buffer, n);
  HOOK_CHECK(hooks::Bytes(buffer, 11) == "hello world", "server received other bytes");
}

HOOK_SCENARIO(msg_trunc, "") {
  hooks::Pair& p = h.connectPair();
  h.writeAll(p.client, "AAAAABBBBBCCCCCDDDDD");
  waitQueued(p.server.fd, 20);
  HOOK_CHECK(recv(p.server.fd, nullptr, 5, MSG_TRUNC) == 5, "recv MSG_TRUNC");
  p.server.discarded("AAAAA");
  HOOK_CHECK(recvfrom(p.server.fd, nullptr, 5, MSG_TRUNC, nullptr, nullptr) == 5,
             "recvfrom MSG_TRUNC");
  p.server.discarded("BBBBB");
  iovec iov = {nullptr, 5};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  HOOK_CHECK(recvmsg(p.server.fd, &message, MSG_TRUNC) == 5, "recvmsg MSG_TRUNC");
  p.server.discarded("CCCCC");
  HOOK_CHECK(h.readExact(p.server, 5) == "DDDDD", "server received other bytes");
}
