// fcntl(F_DUPFD), fcntl(F_DUPFD_CLOEXEC) and fcntl64(F_DUPFD): duplicates
// like dup(2). Other commands (F_SETFL) leave the connection alone.
#include <fcntl.h>
#include <unistd.h>

#include "tests/preload/hooks/harness.h"

// This file is built without _FILE_OFFSET_BITS=64, so fcntl is fcntl and
// fcntl64 is the other hooked symbol.
extern "C" int fcntl64(int fd, int cmd, ...);

namespace {

void duplicateWith(hooks::Harness& h, int (*duplicate)(int fd, int minimum), const char* what) {
  hooks::Pair& p = h.connectPair();
  h.writeAll(p.client, std::string(what) + " 1");
  const int copy = duplicate(p.client.fd, 100);
  HOOK_CHECK(copy >= 100, std::string(what) + " failed");
  HOOK_OK(close(p.client.fd));
  p.client.fd = copy;
  h.writeAll(p.client, std::string(what) + " 2");
  const size_t size = 2 * (std::string(what).size() + 2);
  HOOK_CHECK(h.readExact(p.server, size) == std::string(what) + " 1" + what + " 2",
             "server received other bytes");
  // F_SETFL on the copy: not a duplicate, nothing changes.
  const int flags = static_cast<int>(HOOK_OK(fcntl(copy, F_GETFL)));
  HOOK_OK(fcntl(copy, F_SETFL, flags));
  h.writeAll(p.server, "ack");
  HOOK_CHECK(h.readExact(p.client, 3) == "ack", "client received other bytes");
}

}  // namespace

HOOK_SCENARIO(fcntl_dupfd, "") {
  duplicateWith(
      h, [](int fd, int minimum) { return fcntl(fd, F_DUPFD, minimum); }, "F_DUPFD");
  duplicateWith(
      h, [](int fd, int minimum) { return fcntl(fd, F_DUPFD_CLOEXEC, minimum); },
      "F_DUPFD_CLOEXEC");
}

HOOK_SCENARIO(fcntl64_dupfd, "") {
  duplicateWith(
      h, [](int fd, int minimum) { return fcntl64(fd, F_DUPFD, minimum); }, "fcntl64");
}
