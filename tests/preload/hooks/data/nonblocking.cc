// Non-blocking sockets: a connect that returns EINPROGRESS, reads that fail
// with EAGAIN (not events, errno kept), and short writes (exactly the bytes
// the kernel took are recorded).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tests/preload/hooks/harness.h"

extern "C" {
ssize_t __read_chk(int fd, void* buf, size_t count, size_t buflen);
ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags,
                       struct sockaddr* addr, socklen_t* addrlen);
}

namespace {

hooks::Pair& connectNonBlocking(hooks::Harness& h) {
  int port = 0;
  const int listener = h.listenOn(AF_INET, &port);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  target.sin_port = htons(static_cast<uint16_t>(port));
  const int client = static_cast<int>(HOOK_OK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)));
  errno = 0;
  const int result = connect(client, reinterpret_cast<sockaddr*>(&target), sizeof(target));
  HOOK_CHECK(result == -1 && errno == EINPROGRESS,
             std::string("connect: expected EINPROGRESS, got ") + strerror(errno));
  const int server = static_cast<int>(HOOK_OK(accept(listener, nullptr, nullptr)));
  pollfd ready = {client, POLLOUT, 0};
  HOOK_CHECK(poll(&ready, 1, 10000) == 1 && (ready.revents & POLLOUT), "poll for the connect");
  int error = -1;
  socklen_t length = sizeof(error);
  HOOK_OK(getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &length));
  HOOK_CHECK(error == 0, "connect failed late");
  HOOK_OK(close(listener));
  return h.addPair(client, server);
}

void waitReadable(int fd) {
  pollfd ready = {fd, POLLIN, 0};
  HOOK_CHECK(poll(&ready, 1, 10000) == 1, "poll for input");
}

}  // namespace

HOOK_SCENARIO(nonblocking_connect, "") {
  hooks::Pair& p = connectNonBlocking(h);
  sockaddr_storage peer{};
  socklen_t length = sizeof(peer);
  HOOK_OK(getpeername(p.client.fd, reinterpret_cast<sockaddr*>(&peer), &length));
  // Connecting again reports the completion: 0 the first time after it
  // (Linux), then EISCONN. Neither makes a second trace.
  errno = 0;
  const int again = connect(p.client.fd, reinterpret_cast<sockaddr*>(&peer), length);
  HOOK_CHECK(again == 0 || errno == EISCONN, std::string("second connect: ") + strerror(errno));
  errno = 0;
  HOOK_CHECK(
      connect(p.client.fd, reinterpret_cast<sockaddr*>(&peer), length) == -1 && errno == EISCONN,
      std::string("third connect: ") + strerror(errno));
  h.writeAll(p.client, "non-blocking hello");
  HOOK_CHECK(h.readExact(p.server, 18) == "non-blocking hello", "server received other bytes");
  h.writeAll(p.server, "ok");
  waitReadable(p.client.fd);
  HOOK_CHECK(h.readExact(p.client, 2) == "ok", "client received other bytes");
}

// Connected (EINPROGRESS, then writable) and closed without data: one
// empty trace each.
HOOK_SCENARIO(nonblocking_connect_no_data, "") { connectNonBlocking(h); }

// A non-blocking connect to a port nothing listens on: refused now or
// later (SO_ERROR); either way no trace.
HOOK_SCENARIO(nonblocking_connect_refused, "") {
  int port = 0;
  HOOK_OK(close(h.listenOn(AF_INET, &port)));
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  target.sin_port = htons(static_cast<uint16_t>(port));
  const int client = static_cast<int>(HOOK_OK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)));
  errno = 0;
  const int result = connect(client, reinterpret_cast<sockaddr*>(&target), sizeof(target));
  HOOK_CHECK(result == -1 && (errno == EINPROGRESS || errno == ECONNREFUSED),
             std::string("connect: ") + strerror(errno));
  if (errno == EINPROGRESS) {
    pollfd ready = {client, POLLOUT, 0};
    HOOK_CHECK(poll(&ready, 1, 10000) == 1, "poll for the connect");
    int error = 0;
    socklen_t length = sizeof(error);
    HOOK_OK(getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &length));
    HOOK_CHECK(error == ECONNREFUSED, std::string("SO_ERROR: ") + strerror(error));
  }
  char byte = 'x';
  HOOK_CHECK(send(client, &byte, 1, MSG_NOSIGNAL) == -1, "send on a refused socket");
  HOOK_OK(close(client));
}

// Every receiving hook on an empty non-blocking socket: -1/EAGAIN, no event.
HOOK_SCENARIO(eagain, "") {
  hooks::Pair& p = h.connectPair();
  const int flags = static_cast<int>(HOOK_OK(fcntl(p.server.fd, F_GETFL)));
  HOOK_OK(fcntl(p.server.fd, F_SETFL, flags | O_NONBLOCK));
  const int fd = p.server.fd;
  char buffer[64];
  iovec iov = {buffer, sizeof(buffer)};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  mmsghdr messages = {};
  messages.msg_hdr = message;
  const char* names[] = {"read",     "readv",      "recv",       "recvfrom",      "recvmsg",
                         "recvmmsg", "__read_chk", "__recv_chk", "__recvfrom_chk"};
  for (int which = 0; which < 9; ++which) {
    errno = 0;
    long result = 0;
    switch (which) {
      case 0:
        result = read(fd, buffer, sizeof(buffer));
        break;
      case 1:
        result = readv(fd, &iov, 1);
        break;
      case 2:
        result = recv(fd, buffer, sizeof(buffer), 0);
        break;
      case 3:
        result = recvfrom(fd, buffer, sizeof(buffer), 0, nullptr, nullptr);
        break;
      case 4:
        result = recvmsg(fd, &message, 0);
        break;
      case 5:
        result = recvmmsg(fd, &messages, 1, 0, nullptr);
        break;
      case 6:
        result = __read_chk(fd, buffer, sizeof(buffer), sizeof(buffer));
        break;
      case 7:
        result = __recv_chk(fd, buffer, sizeof(buffer), sizeof(buffer), 0);
        break;
      case 8:
        result = __recvfrom_chk(fd, buffer, sizeof(buffer), sizeof(buffer), 0, nullptr, nullptr);
        break;
    }
    HOOK_CHECK(result == -1 && errno == EAGAIN, std::string(names[which]) +
                                                    ": expected -1/EAGAIN, got " +
                                                    std::to_string(result) + "/" + strerror(errno));
  }
  // MSG_DONTWAIT on the blocking client end, too.
  errno = 0;
  HOOK_CHECK(recv(p.client.fd, buffer, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN,
             "recv MSG_DONTWAIT");
  h.writeAll(p.client, "after eagain");
  waitReadable(fd);
  HOOK_CHECK(h.readExact(p.server, 12) == "after eagain", "server received other bytes");
}

// Fill the socket buffers with non-blocking writes until short writes and
// EAGAIN happen; the trace holds exactly the bytes each call accepted.
HOOK_SCENARIO(partial_writes,
              "TAP_MAX_BUFFERED_RX_BYTES=67108864 TAP_MAX_BUFFERED_TX_BYTES=67108864") {
  int port = 0;
  const int listener = h.listenOn(AF_INET, &port);
  int small = 4096;
  HOOK_OK(setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
  const int client = static_cast<int>(HOOK_OK(socket(AF_INET, SOCK_STREAM, 0)));
  HOOK_OK(setsockopt(client, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)));
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  target.sin_port = htons(static_cast<uint16_t>(port));
  HOOK_OK(connect(client, reinterpret_cast<sockaddr*>(&target), sizeof(target)));
  const int server = static_cast<int>(HOOK_OK(accept(listener, nullptr, nullptr)));
  HOOK_OK(close(listener));
  hooks::Pair& p = h.addPair(client, server);
  HOOK_OK(fcntl(client, F_SETFL, O_NONBLOCK));

  int short_writes = 0, eagains = 0;
  for (int round = 0; round < 3; ++round) {
    const hooks::Bytes chunk = hooks::pattern(10000, round);
    size_t total = 0;
    for (;;) {
      errno = 0;
      const ssize_t n = send(client, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n < 0) {
        HOOK_CHECK(errno == EAGAIN, std::string("send: ") + strerror(errno));
        ++eagains;
        break;
      }
      p.client.sent(chunk.data(), n);
      total += static_cast<size_t>(n);
      if (static_cast<size_t>(n) < chunk.size()) ++short_writes;
    }
    const hooks::Bytes start = p.server.allReceived();
    h.readExact(p.server, total);
    HOOK_CHECK(p.server.allReceived() == p.client.allSent(), "server received other bytes");
    (void)start;
  }
  HOOK_CHECK(short_writes > 0, "no short write happened");
  HOOK_CHECK(eagains == 3, "EAGAIN");
}
