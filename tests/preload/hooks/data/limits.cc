// Envoy's buffered limits: the default 1024 bytes each way, and limits set
// through TAP_MAX_BUFFERED_RX_BYTES / TX_BYTES. The harness models the
// expected events (§3.2: cut event, then an empty truncated event after an
// exactly used budget, then nothing).
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "tests/preload/hooks/harness.h"

namespace {

void overflow(hooks::Harness& h) {
  hooks::Pair& p = h.connectPair();
  // Client: 1024 bytes (the whole budget, not cut), 10 (recorded empty,
  // truncated), 5 (dropped).
  const hooks::Bytes up = hooks::pattern(1039, 1);
  h.writeAll(p.client, up.substr(0, 1024));
  h.writeAll(p.client, up.substr(1024, 10));
  h.writeAll(p.client, up.substr(1034));
  // The half-close marks the last write end_stream only if no write was cut.
  HOOK_OK(shutdown(p.client.fd, SHUT_WR));
  p.client.shutDown(SHUT_WR);
  // Server reads at most 600 bytes a call.
  size_t got = 0;
  while (got < up.size())
    got += h.readExact(p.server, std::min<size_t>(600, up.size() - got)).size();
  HOOK_CHECK(p.server.allReceived() == up, "server received other bytes");
  // Server: three writes of 1000 bytes.
  const hooks::Bytes down = hooks::pattern(3000, 2);
  for (int i = 0; i < 3; ++i) h.writeAll(p.server, down.substr(1000 * i, 1000));
  HOOK_CHECK(h.readExact(p.client, 3000) == down, "client received other bytes");
  h.expectEof(p.server);
}

}  // namespace

HOOK_SCENARIO(default_limit, "") { overflow(h); }

HOOK_SCENARIO(custom_limits, "TAP_MAX_BUFFERED_RX_BYTES=100 TAP_MAX_BUFFERED_TX_BYTES=1500") {
  overflow(h);
}
