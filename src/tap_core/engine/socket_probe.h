// What the kernel says about a socket: the seam between the tap engine and
// getsockopt/getsockname/getpeername, faked in unit tests.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "tap_core/trace/trace_types.h"

namespace tapshim::core {

enum class SocketKind : uint8_t { kOther, kTcp, kUnixStream };

// The data bytes a TCP socket moved between the program and the kernel, as
// the kernel counts them: what the program handed over (acknowledged by
// the peer, or still queued) and what it took (delivered, minus what still
// waits to be read). The counts carry the connection's SYN and FIN
// sequence numbers, which are taken off where the state says where they
// are; `slack` is 1 where it cannot say (a socket in CLOSE, after a FIN or
// a reset), so a count may be one too high there.
struct TcpTotals {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t slack = 0;
};

class SocketProbe {
 public:
  virtual ~SocketProbe() = default;
  // True for a TCP socket over IPv4 or IPv6 (connected or not).
  virtual bool isTcp(int fd) = 0;
  // TCP, a unix stream socket, or anything else.
  virtual SocketKind kind(int fd) { return isTcp(fd) ? SocketKind::kTcp : SocketKind::kOther; }
  // The local address, or unknown.
  virtual Address localAddress(int fd) = 0;
  // The peer's address; unknown when the socket is not connected.
  virtual Address peerAddress(int fd) = 0;
  // The kernel's totals for a TCP socket (`active_open`: this side sent
  // the SYN), as exact as it takes to tell whether they exceed `moved` (by
  // more than the slack): a direction that cannot may come back as its
  // `moved` count, sparing the system calls that would make it exact.
  // False when it cannot tell (not TCP, a kernel before 4.6).
  virtual bool tcpTotals(int /*fd*/, bool /*active_open*/, const TcpTotals& /*moved*/,
                         TcpTotals* /*totals*/) {
    return false;
  }
};

class KernelSocketProbe final : public SocketProbe {
 public:
  // SocketProbe
  bool isTcp(int fd) override;
  SocketKind kind(int fd) override;
  Address localAddress(int fd) override;
  Address peerAddress(int fd) override;
  bool tcpTotals(int fd, bool active_open, const TcpTotals& moved, TcpTotals* totals) override;
};

// Envoy's form of a socket address: the textual IP (IPv6 without brackets)
// and port, or a unix path ("@name" for an abstract socket).
Address addressFromSockaddr(const sockaddr* address, socklen_t length);

}  // namespace tapshim::core
