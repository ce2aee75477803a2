// A SocketProbe where the test decides which fds are TCP sockets and what
// their addresses are, and which counts the questions asked (a non-TCP fd
// must be probed only once).
#pragma once

#include <map>
#include <optional>

#include "tap_core/engine/socket_probe.h"

namespace tapshim::testing {

class FakeSocketProbe final : public core::SocketProbe {
 public:
  // `peer` unknown means "not connected (yet)".
  void addTcp(int fd, const core::Address& local, const core::Address& peer) {
    sockets_[fd] = Socket{true, local, peer, {}};
  }
  // A file, pipe, UDP or unix socket: never tapped.
  void addNonTcp(int fd) { sockets_[fd] = Socket{false, {}, {}, {}}; }
  void setPeer(int fd, const core::Address& peer) { sockets_[fd].peer = peer; }
  // What the kernel counts for a TCP socket (tcpTotals); without it the
  // probe cannot tell, as on an old kernel.
  void setTcpTotals(int fd, uint64_t sent, uint64_t received, uint64_t slack = 0) {
    sockets_[fd].totals = core::TcpTotals{sent, received, slack};
  }
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
  bool tcpTotals(int fd, bool active_open, const core::TcpTotals& /*moved*/,
                 core::TcpTotals* totals) override {
    auto it = sockets_.find(fd);
    if (it == sockets_.end() || !it->second.totals) return false;
    active_opens_[fd] = active_open;
    *totals = *it->second.totals;
    return true;
  }
  // The active_open that tcpTotals was last asked with for `fd` (nullopt:
  // never asked).
  std::optional<bool> activeOpenAsked(int fd) const {
    auto it = active_opens_.find(fd);
    return it == active_opens_.end() ? std::nullopt : std::optional<bool>(it->second);
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
    std::optional<core::TcpTotals> totals;
  };
  std::map<int, Socket> sockets_;
  std::map<int, bool> active_opens_;
  std::map<int, int> is_tcp_calls_;
};

}  // namespace tapshim::testing
