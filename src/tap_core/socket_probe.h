// What the kernel says about a socket: the seam between the tap engine and
// getsockopt/getsockname/getpeername, faked in unit tests.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "tap_core/trace_types.h"

namespace tapshim::core {

enum class SocketKind : uint8_t { kOther, kTcp, kUnixStream };

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
};

class KernelSocketProbe final : public SocketProbe {
 public:
  // SocketProbe
  bool isTcp(int fd) override;
  SocketKind kind(int fd) override;
  Address localAddress(int fd) override;
  Address peerAddress(int fd) override;
};

// Envoy's form of a socket address: the textual IP (IPv6 without brackets)
// and port, or a unix path ("@name" for an abstract socket).
Address addressFromSockaddr(const sockaddr* address, socklen_t length);

}  // namespace tapshim::core
