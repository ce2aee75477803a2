// close(2), close_range(2) and closefrom(3): the trace is written when the
// connection's last fd goes, whichever call closes it.
#include <fcntl.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <algorithm>

#include "tests/preload/hooks/harness.h"

namespace {

// Some bytes each way, so that each trace shows which connection it is.
void exchange(hooks::Harness& h, hooks::Pair& p, int seed) {
  const hooks::Bytes data = hooks::pattern(20 + seed, seed);
  h.writeAll(p.client, data);
  HOOK_CHECK(h.readExact(p.server, data.size()) == data, "server received other bytes");
  h.writeAll(p.server, data.substr(0, 3));
  HOOK_CHECK(h.readExact(p.client, 3) == data.substr(0, 3), "client received other bytes");
}

}  // namespace

// close(2) by the snippet, with errno kept across the trace being written.
HOOK_SCENARIO(close, "") {
  hooks::Pair& p = h.connectPair();
  exchange(h, p, 1);
  errno = 4242;
  HOOK_CHECK(close(p.client.fd) == 0, "close");
  HOOK_CHECK(errno == 4242, "close changed errno to " + std::to_string(errno));
  p.client.closedBySnippet();
  h.expectEof(p.server);
  HOOK_OK(close(p.server.fd));
  p.server.closedBySnippet();
}

// close_range over a span that holds two connections' four fds (and other
// fds the shim does not tap); CLOSE_RANGE_CLOEXEC closes nothing.
HOOK_SCENARIO(close_range, "") {
  hooks::Pair& a = h.connectPair();
  hooks::Pair& b = h.connectPair();
  exchange(h, a, 1);
  exchange(h, b, 2);
  const int fds[] = {a.client.fd, a.server.fd, b.client.fd, b.server.fd};
  const unsigned low = static_cast<unsigned>(*std::min_element(fds, fds + 4));
  const unsigned high = static_cast<unsigned>(*std::max_element(fds, fds + 4));
  HOOK_OK(close_range(low, high, CLOSE_RANGE_CLOEXEC));
  // Still open, still the same connections: one more byte each way on a.
  h.writeAll(a.client, "!");
  HOOK_CHECK(h.readExact(a.server, 1) == "!", "after CLOSE_RANGE_CLOEXEC");
  HOOK_OK(close_range(low, high, 0));
  for (hooks::End* end : {&a.client, &a.server, &b.client, &b.server}) {
    end->closedBySnippet();
    HOOK_CHECK(fcntl(end->fd, F_GETFD) == -1 && errno == EBADF, "fd still open");
  }
}

// closefrom(3) from the lowest fd of one connection.
HOOK_SCENARIO(closefrom, "") {
  hooks::Pair& p = h.connectPair();
  exchange(h, p, 3);
  closefrom(std::min(p.client.fd, p.server.fd));
  for (hooks::End* end : {&p.client, &p.server}) {
    end->closedBySnippet();
    HOOK_CHECK(fcntl(end->fd, F_GETFD) == -1 && errno == EBADF, "fd still open");
  }
}
