#include "tap_core/engine/socket_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

#include "tap_core/base/os.h"

namespace tapshim::core {

Address addressFromSockaddr(const sockaddr* address, socklen_t length) {
  if (address == nullptr || length < static_cast<socklen_t>(sizeof(sa_family_t))) return {};
  char text[INET6_ADDRSTRLEN];
  switch (address->sa_family) {
    case AF_INET: {
      if (length < static_cast<socklen_t>(sizeof(sockaddr_in))) return {};
      const auto* in = reinterpret_cast<const sockaddr_in*>(address);
      if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) == nullptr) return {};
      return Address::ip(text, ntohs(in->sin_port));
    }
    case AF_INET6: {
      if (length < static_cast<socklen_t>(sizeof(sockaddr_in6))) return {};
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
      if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)) == nullptr) return {};
      return Address::ip(text, ntohs(in6->sin6_port));
    }
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(address);
      const size_t path_length = static_cast<size_t>(length) - offsetof(sockaddr_un, sun_path);
      if (static_cast<size_t>(length) <= offsetof(sockaddr_un, sun_path)) return {};
      if (un->sun_path[0] == '\0') {  // abstract: Envoy writes "@name"
        char name[Address::kMaxText];
        name[0] = '@';
        const size_t take = std::min(path_length - 1, sizeof(name) - 1);
        std::memcpy(name + 1, un->sun_path + 1, take);
        return Address::pipe(std::string_view(name, take + 1));
      }
      return Address::pipe(std::string_view(un->sun_path, strnlen(un->sun_path, path_length)));
    }
    default:
      return {};
  }
}

bool KernelSocketProbe::isTcp(int fd) {
  int domain = 0;
  int protocol = 0;
  if (os::socketOption(fd, SOL_SOCKET, SO_DOMAIN, &domain) != 0) return false;
  if (domain != AF_INET && domain != AF_INET6) return false;
  if (os::socketOption(fd, SOL_SOCKET, SO_PROTOCOL, &protocol) != 0) return false;
  return protocol == IPPROTO_TCP;
}

SocketKind KernelSocketProbe::kind(int fd) {
  int domain = 0;
  if (os::socketOption(fd, SOL_SOCKET, SO_DOMAIN, &domain) != 0) return SocketKind::kOther;
  if (domain == AF_UNIX) {
    int type = 0;
    if (os::socketOption(fd, SOL_SOCKET, SO_TYPE, &type) != 0) return SocketKind::kOther;
    return type == SOCK_STREAM ? SocketKind::kUnixStream : SocketKind::kOther;
  }
  if (domain != AF_INET && domain != AF_INET6) return SocketKind::kOther;
  int protocol = 0;
  if (os::socketOption(fd, SOL_SOCKET, SO_PROTOCOL, &protocol) != 0) return SocketKind::kOther;
  return protocol == IPPROTO_TCP ? SocketKind::kTcp : SocketKind::kOther;
}

Address KernelSocketProbe::localAddress(int fd) {
  sockaddr_storage storage;
  socklen_t length;
  if (os::localAddress(fd, &storage, &length) != 0) return {};
  return addressFromSockaddr(reinterpret_cast<sockaddr*>(&storage), length);
}

Address KernelSocketProbe::peerAddress(int fd) {
  sockaddr_storage storage;
  socklen_t length;
  if (os::peerAddress(fd, &storage, &length) != 0) return {};
  return addressFromSockaddr(reinterpret_cast<sockaddr*>(&storage), length);
}

}  // namespace tapshim::core
