// socket, connect, accept and accept4: which sockets become traces, and
// the addresses they carry. A connection that was established gets exactly
// one trace even without data; a refused connect and a listening socket
// get none.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "tests/preload/hooks/harness.h"

namespace {

sockaddr_storage addressOf(int listener, socklen_t* length) {
  sockaddr_storage storage{};
  *length = sizeof(storage);
  HOOK_OK(getsockname(listener, reinterpret_cast<sockaddr*>(&storage), length));
  return storage;
}

}  // namespace

// accept(2) with an address buffer, accept4(2) with flags, socket(2) with
// SOCK_CLOEXEC: a little data each way on both connections.
HOOK_SCENARIO(accept_accept4, "") {
  int port = 0;
  const int listener = h.listenOn(AF_INET, &port);
  socklen_t length;
  sockaddr_storage target = addressOf(listener, &length);

  const int first = static_cast<int>(HOOK_OK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
  HOOK_OK(connect(first, reinterpret_cast<sockaddr*>(&target), length));
  sockaddr_in peer{};
  socklen_t peer_length = sizeof(peer);
  const int accepted =
      static_cast<int>(HOOK_OK(accept(listener, reinterpret_cast<sockaddr*>(&peer), &peer_length)));
  hooks::Pair& a = h.addPair(first, accepted);
  HOOK_CHECK(ntohs(peer.sin_port) == a.client.local_port, "accept's address is the client's");

  const int second = static_cast<int>(HOOK_OK(socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)));
  HOOK_OK(connect(second, reinterpret_cast<sockaddr*>(&target), length));
  const int accepted4 =
      static_cast<int>(HOOK_OK(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)));
  hooks::Pair& b = h.addPair(second, accepted4);
  HOOK_OK(close(listener));  // a listening socket: no trace

  h.writeAll(a.client, "ping");
  HOOK_CHECK(h.readExact(a.server, 4) == "ping", "a: server");
  h.writeAll(a.server, "pong");
  HOOK_CHECK(h.readExact(a.client, 4) == "pong", "a: client");
  h.writeAll(b.client, "hello");
  // b's server end is non-blocking (accept4's flag): wait for the bytes.
  usleep(1000);
  char buffer[5];
  size_t got = 0;
  while (got < 5) {
    const ssize_t n = read(b.server.fd, buffer + got, 5 - got);
    if (n < 0 && errno == EAGAIN) {
      usleep(1000);
      continue;
    }
    HOOK_CHECK(n > 0, "b: server read");
    b.server.received(buffer + got, n);
    got += static_cast<size_t>(n);
  }
  HOOK_CHECK(hooks::Bytes(buffer, 5) == "hello", "b: server received other bytes");
}

// Over IPv6 loopback: addresses are written as "::1".
HOOK_SCENARIO(ipv6, "") {
  hooks::Pair& p = h.connectPair(AF_INET6);
  HOOK_CHECK(p.client.local_address == "::1", "client address " + p.client.local_address);
  const hooks::Bytes data = hooks::pattern(100, 6);
  h.writeAll(p.client, data);
  HOOK_CHECK(h.readExact(p.server, data.size()) == data, "server received other bytes");
  h.writeAll(p.server, "v6");
  HOOK_CHECK(h.readExact(p.client, 2) == "v6", "client received other bytes");
}

// An established connection that carries nothing: one empty trace per end.
HOOK_SCENARIO(no_data, "") { h.connectPair(); }

// A refused connect (nothing listens on the port any more): no trace. Nor
// for a socket that is never connected, nor for a listening socket.
HOOK_SCENARIO(connect_refused, "") {
  int port = 0;
  const int listener = h.listenOn(AF_INET, &port);
  socklen_t length;
  sockaddr_storage target = addressOf(listener, &length);
  HOOK_OK(close(listener));

  const int client = static_cast<int>(HOOK_OK(socket(AF_INET, SOCK_STREAM, 0)));
  errno = 0;
  const int result = connect(client, reinterpret_cast<sockaddr*>(&target), length);
  HOOK_CHECK(result == -1 && errno == ECONNREFUSED,
             "connect: expected ECONNREFUSED, got " + std::to_string(errno));
  // Reading and writing the failed socket does not turn it into a trace.
  char byte = 'x';
  HOOK_CHECK(write(client, &byte, 1) < 0, "write on a refused socket");
  HOOK_OK(close(client));

  const int unused = static_cast<int>(HOOK_OK(socket(AF_INET6, SOCK_STREAM, 0)));
  HOOK_OK(close(unused));
}

HOOK_SCENARIO(listen_only, "") {
  int port = 0;
  const int listener = h.listenOn(AF_INET, &port);
  const int v6 = h.listenOn(AF_INET6, &port);
  HOOK_OK(close(listener));
  HOOK_OK(close(v6));
}

// Only TCP is tapped by default: unix stream sockets (a pair, and a
// connected one) and a connected UDP socket carry data but get no trace.
HOOK_SCENARIO(unix_udp_not_tapped, "") {
  int pair[2];
  HOOK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair));
  HOOK_CHECK(write(pair[0], "unix", 4) == 4, "unix write");
  char buffer[8];
  HOOK_CHECK(read(pair[1], buffer, sizeof(buffer)) == 4, "unix read");
  HOOK_OK(close(pair[0]));
  HOOK_OK(close(pair[1]));

  const int receiver = static_cast<int>(HOOK_OK(socket(AF_INET, SOCK_DGRAM, 0)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  HOOK_OK(bind(receiver, reinterpret_cast<sockaddr*>(&address), sizeof(address)));
  socklen_t length = sizeof(address);
  HOOK_OK(getsockname(receiver, reinterpret_cast<sockaddr*>(&address), &length));
  const int sender = static_cast<int>(HOOK_OK(socket(AF_INET, SOCK_DGRAM, 0)));
  HOOK_OK(connect(sender, reinterpret_cast<sockaddr*>(&address), length));
  HOOK_CHECK(send(sender, "udp", 3, 0) == 3, "udp send");
  HOOK_CHECK(recv(receiver, buffer, sizeof(buffer), 0) == 3, "udp recv");
  HOOK_OK(close(sender));
  HOOK_OK(close(receiver));
}
