// Threads: several threads each with a connection of their own, and two
// threads writing on one connection (one event per write, in some order).
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(threads_own, "TAP_MAX_BUFFERED_RX_BYTES=1000000 TAP_MAX_BUFFERED_TX_BYTES=1000000") {
  constexpr int kThreads = 6;
  std::vector<hooks::Pair*> pairs;
  for (int i = 0; i < kThreads; ++i) pairs.push_back(&h.connectPair());
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&h, p = pairs[i], i] {
      for (int round = 0; round < 50; ++round) {
        const hooks::Bytes data = hooks::pattern(37 + i, 100 * i + round);
        h.writeAll(p->client, data);
        HOOK_CHECK(h.readExact(p->server, data.size()) == data, "server received other bytes");
        h.writeAll(p->server, data.substr(0, 5));
        HOOK_CHECK(h.readExact(p->client, 5) == data.substr(0, 5), "client received other bytes");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

HOOK_SCENARIO(threads_shared,
              "TAP_MAX_BUFFERED_RX_BYTES=1000000 TAP_MAX_BUFFERED_TX_BYTES=1000000") {
  constexpr int kWriters = 2, kMessages = 300, kSize = 16;
  hooks::Pair& p = h.connectPair();
  p.client.unordered = true;  // the shim records after each call returns
  p.check_transfer = false;   // the kernel's order is not the recording order
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&p, w] {
      for (int m = 0; m < kMessages; ++m) {
        char message[kSize + 1];
        snprintf(message, sizeof(message), "w%d-message-%04d", w, m);
        const ssize_t n = write(p.client.fd, message, kSize);
        HOOK_CHECK(n == kSize, "short write");
        p.client.sent(message, n);
      }
    });
  }
  const hooks::Bytes received = h.readExact(p.server, kWriters * kMessages * kSize);
  for (std::thread& writer : writers) writer.join();
  // Small writes are not interleaved: the stream is the whole messages.
  std::vector<hooks::Bytes> got, sent;
  for (size_t i = 0; i < received.size(); i += kSize) got.push_back(received.substr(i, kSize));
  const hooks::Bytes all = p.client.allSent();
  for (size_t i = 0; i < all.size(); i += kSize) sent.push_back(all.substr(i, kSize));
  std::sort(got.begin(), got.end());
  std::sort(sent.begin(), sent.end());
  HOOK_CHECK(got == sent, "server received other messages");
  h.writeAll(p.server, "done");
  HOOK_CHECK(h.readExact(p.client, 4) == "done", "client received other bytes");
}
