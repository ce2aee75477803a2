// A SocketProbe where the test decides which fds are TCP sockets and what
// their addresses are, and which counts the questions asked (a non-TCP fd
// must be probed only once).
#pragma once

#include <map>

#include "tap_core/socket_probe.h"

namespace tapshim::testing {

class FakeSocketProbe final : public core::SocketProbe {
 public:
  // `peer` unknown means "not connected (yet)".
  void addTcp(int fd, const core::Address& local, const core::Address& peer) {
    sockets_[fd] = Socket{true, local, peer};
  }
  // A file, pipe, UDP or unix socket: never tapped.
  void addNonTcp(int fd) { sockets_[fd] = Socket{false, {}, {}}; }
  void setPeer(int fd, const core::Address& peer) { sockets_[fd].peer = peer; }
  void remove(int fd) { sockets_.erase(fd); }

  // SocketProbe
  bool isTcp(int fd) override {
    ++is_tcp_calls_[fd];
    auto it = sockets_.find(fd);
    return it != sockets_.end() && it->second.tcp;
  }
  core::Address localAddress(int fd) override {
    auto it = sockets_.find(fd);
    return it == sockets_.end() ? core::Address{} : it->second.local;
  }
  core::Address peerAddress(int fd) override {
    auto it = sockets_.find(fd);
    return it == sockets_.end() ? core::Address{} : it->second.peer;
  }

  int isTcpCalls(int fd) const {
    auto it = is_tcp_calls_.find(fd);
    return it == is_tcp_calls_.end() ? 0 : it->second;
  }

 private:
  struct Socket {
    bool tcp = false;
    core::Address local;
    core::Address peer;
  };
  std::map<int, Socket> sockets_;
  std::map<int, int> is_tcp_calls_;
};

}  // namespace tapshim::testing
