// Ping-pong over one loopback connection (TCP_NODELAY).
//   bench_pingpong server           echoes whatever it reads, connection
//                                   after connection
//   bench_pingpong client PORT ROUNDS SIZE
//                                   ROUNDS times: write SIZE bytes, read the
//                                   SIZE-byte echo; prints seconds=S rounds=R
#include <cstring>
#include <vector>

#include "common.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "server") == 0) {
    const int listener = bench::listenLoopback();
    std::vector<char> buffer(65536);
    for (;;) {
      const int fd = bench::acceptOne(listener, /*nodelay=*/true);
      for (;;) {
        const ssize_t n = read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        bench::writeAll(fd, buffer.data(), static_cast<size_t>(n));
      }
      close(fd);
    }
  }
  if (argc == 5 && std::strcmp(argv[1], "client") == 0) {
    const int port = static_cast<int>(bench::number(argv[2]));
    const long rounds = bench::number(argv[3]);
    const size_t size = static_cast<size_t>(bench::number(argv[4]));
    std::vector<char> message(size, 'p'), echo(size);
    const int fd = bench::connectLoopback(port, /*nodelay=*/true);
    const double start = bench::now();
    for (long i = 0; i < rounds; ++i) {
      bench::writeAll(fd, message.data(), size);
      if (!bench::readExactly(fd, echo.data(), size)) {
        std::fprintf(stderr, "the server closed early\n");
        return 1;
      }
    }
    const double seconds = bench::now() - start;
    close(fd);
    std::printf("seconds=%.6f rounds=%ld\n", seconds, rounds);
    return 0;
  }
  std::fprintf(stderr, "usage: bench_pingpong server | bench_pingpong client PORT ROUNDS SIZE\n");
  return 2;
}
