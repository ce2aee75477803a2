// addressFromSockaddr writes endpoints as Envoy does, and KernelSocketProbe
// asks the real kernel (loopback sockets, no network).
#include "tap_core/engine/socket_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

namespace tapshim::core {
namespace {

TEST(AddressFromSockaddrTest, Ipv4IsTextAndPort) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(50000);
  inet_pton(AF_INET, "10.0.0.3", &in.sin_addr);
  const Address address = addressFromSockaddr(reinterpret_cast<sockaddr*>(&in), sizeof(in));
  EXPECT_EQ(address.kind, Address::Kind::kIp);
  EXPECT_EQ(address.textView(), "10.0.0.3");
  EXPECT_EQ(address.port, 50000);
}

TEST(AddressFromSockaddrTest, Ipv6HasNoBrackets) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(443);
  inet_pton(AF_INET6, "::1", &in6.sin6_addr);
  const Address address = addressFromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof(in6));
  EXPECT_EQ(address.kind, Address::Kind::kIp);
  EXPECT_EQ(address.textView(), "::1");
  EXPECT_EQ(address.port, 443);
}

TEST(AddressFromSockaddrTest, UnixPathIsAPipe) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "/run/app.sock");
  const socklen_t length = offsetof(sockaddr_un, sun_path) + std::strlen(un.sun_path) + 1;
  const Address address = addressFromSockaddr(reinterpret_cast<sockaddr*>(&un), length);
  EXPECT_EQ(address.kind, Address::Kind::kPipe);
  EXPECT_EQ(address.textView(), "/run/app.sock");
}

TEST(AddressFromSockaddrTest, AbstractUnixNameIsWrittenWithAnAt) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, "\0bus", 4);
  const socklen_t length = offsetof(sockaddr_un, sun_path) + 4;
  const Address address = addressFromSockaddr(reinterpret_cast<sockaddr*>(&un), length);
  EXPECT_EQ(address.kind, Address::Kind::kPipe);
  EXPECT_EQ(address.textView(), "@bus");
}

TEST(AddressFromSockaddrTest, TruncatedOrUnknownAddressesAreUnknown) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  EXPECT_FALSE(addressFromSockaddr(reinterpret_cast<sockaddr*>(&in), sizeof(in) - 1).known());
  EXPECT_FALSE(addressFromSockaddr(nullptr, 0).known());
  sockaddr_un unnamed{};
  unnamed.sun_family = AF_UNIX;  // an unbound unix socket: family only
  EXPECT_FALSE(
      addressFromSockaddr(reinterpret_cast<sockaddr*>(&unnamed), sizeof(sa_family_t)).known());
  sockaddr other{};
  other.sa_family = AF_PACKET;
  EXPECT_FALSE(addressFromSockaddr(&other, sizeof(other)).known());
}

TEST(KernelSocketProbeTest, LoopbackTcpConnectionIsTcpWithBothAddresses) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in bound{};
  bound.sin_family = AF_INET;
  bound.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&bound), sizeof(bound)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof(bound);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &length), 0);

  KernelSocketProbe probe;
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  EXPECT_TRUE(probe.isTcp(client));
  EXPECT_FALSE(probe.peerAddress(client).known());  // not connected yet
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&bound), sizeof(bound)), 0);
  const Address peer = probe.peerAddress(client);
  EXPECT_EQ(peer.textView(), "127.0.0.1");
  EXPECT_EQ(peer.port, ntohs(bound.sin_port));
  EXPECT_EQ(probe.localAddress(client).textView(), "127.0.0.1");
  EXPECT_NE(probe.localAddress(client).port, 0);
  close(client);
  close(listener);
}

TEST(KernelSocketProbeTest, OtherFdsAreNotTcp) {
  KernelSocketProbe probe;
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  EXPECT_FALSE(probe.isTcp(udp));
  EXPECT_FALSE(probe.isTcp(pair[0]));
  EXPECT_FALSE(probe.isTcp(pipe_fds[0]));
  EXPECT_FALSE(probe.isTcp(-1));
  for (int fd : {udp, pair[0], pair[1], pipe_fds[0], pipe_fds[1]}) close(fd);
}

}  // namespace
}  // namespace tapshim::core
