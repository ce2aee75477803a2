// Connection churn: many short connections, one after the other.
//   bench_churn server              per connection: read a SIZE-byte request
//                                   (any size up to 64 KiB), answer as many
//                                   bytes, read to EOF, close
//   bench_churn client PORT COUNT SIZE
//                                   COUNT times: connect, write SIZE bytes,
//                                   read the SIZE-byte answer, close;
//                                   prints seconds=S connections=N
#include <cstring>
#include <vector>

#include "common.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "server") == 0) {
    const int listener = bench::listenLoopback();
    std::vector<char> buffer(65536);
    for (;;) {
      const int fd = bench::acceptOne(listener, /*nodelay=*/true);
      const ssize_t n = read(fd, buffer.data(), buffer.size());
      if (n > 0) {
        bench::writeAll(fd, buffer.data(), static_cast<size_t>(n));
        bench::drain(fd, buffer.data(), buffer.size());
      }
      close(fd);
    }
  }
  if (argc == 5 && std::strcmp(argv[1], "client") == 0) {
    const int port = static_cast<int>(bench::number(argv[2]));
    const long count = bench::number(argv[3]);
    const size_t size = static_cast<size_t>(bench::number(argv[4]));
    std::vector<char> request(size, 'q'), answer(size);
    const double start = bench::now();
    for (long i = 0; i < count; ++i) {
      const int fd = bench::connectLoopback(port, /*nodelay=*/true);
      bench::writeAll(fd, request.data(), size);
      if (!bench::readExactly(fd, answer.data(), size)) {
        std::fprintf(stderr, "the server closed early\n");
        return 1;
      }
      close(fd);
    }
    std::printf("seconds=%.6f connections=%ld\n", bench::now() - start, count);
    return 0;
  }
  std::fprintf(stderr, "usage: bench_churn server | bench_churn client PORT COUNT SIZE\n");
  return 2;
}
