// 1 MiB each way with the limits raised: every byte is in the traces. The
// sender is another thread (the socket buffers do not hold 1 MiB).
#include <sys/uio.h>
#include <unistd.h>

#include <thread>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(large, "TAP_MAX_BUFFERED_RX_BYTES=2097152 TAP_MAX_BUFFERED_TX_BYTES=2097152") {
  constexpr size_t kSize = 1 << 20;
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes up = hooks::pattern(kSize, 1), down = hooks::pattern(kSize, 2);
  std::thread sender([&] { h.writeAll(p.client, up); });
  HOOK_CHECK(h.readExact(p.server, kSize) == up, "server received other bytes");
  sender.join();
  std::thread replier([&] {
    size_t done = 0;
    while (done < kSize) {
      iovec iov[2] = {{const_cast<char*>(down.data()) + done, (kSize - done) / 2},
                      {const_cast<char*>(down.data()) + done + (kSize - done) / 2,
                       kSize - done - (kSize - done) / 2}};
      const ssize_t n = writev(p.server.fd, iov, 2);
      HOOK_CHECK(n > 0, "writev");
      p.server.sentVector(iov, 2, n);
      done += static_cast<size_t>(n);
    }
  });
  HOOK_CHECK(h.readExact(p.client, kSize) == down, "client received other bytes");
  replier.join();
}
