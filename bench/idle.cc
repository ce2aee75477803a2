// Idle connections: memory per open connection.
//   bench_idle server               per connection: read SIZE bytes, answer
//                                   as many, keep it open
//   bench_idle client PORT COUNT SIZE
//                                   opens COUNT connections, each exchanging
//                                   SIZE bytes each way, keeps them open;
//                                   prints rss_before_kib=A rss_after_kib=B
//                                   connections=N, then waits for stdin to
//                                   close (bench.py kills it: no exit work)
#include <fcntl.h>

#include <cstring>
#include <vector>

#include "common.h"

namespace {

long rssKib() {
  const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) bench::die("/proc/self/status");
  char text[8192];
  const ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  const char* line = std::strstr(text, "VmRSS:");
  return line == nullptr ? -1 : std::strtol(line + 6, nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
  bench::raiseFdLimit();
  if (argc == 3 && std::strcmp(argv[1], "server") == 0) {
    const size_t size = static_cast<size_t>(bench::number(argv[2]));
    const int listener = bench::listenLoopback();
    std::vector<char> buffer(size);
    for (;;) {
      const int fd = bench::acceptOne(listener, /*nodelay=*/true);
      if (bench::readExactly(fd, buffer.data(), size)) {
        bench::writeAll(fd, buffer.data(), size);
      } else {
        close(fd);
      }
    }
  }
  if (argc == 5 && std::strcmp(argv[1], "client") == 0) {
    const int port = static_cast<int>(bench::number(argv[2]));
    const long count = bench::number(argv[3]);
    const size_t size = static_cast<size_t>(bench::number(argv[4]));
    std::vector<char> request(size, 'i'), answer(size);
    std::vector<int> fds;
    fds.reserve(static_cast<size_t>(count));
    const long before = rssKib();
    for (long i = 0; i < count; ++i) {
      const int fd = bench::connectLoopback(port, /*nodelay=*/true);
      bench::writeAll(fd, request.data(), size);
      if (!bench::readExactly(fd, answer.data(), size)) {
        std::fprintf(stderr, "the server closed early\n");
        return 1;
      }
      fds.push_back(fd);
    }
    const long after = rssKib();
    std::printf("rss_before_kib=%ld rss_after_kib=%ld connections=%ld\n", before, after, count);
    std::fflush(stdout);
    char byte;
    while (read(0, &byte, 1) > 0) {
    }
    return 0;
  }
  std::fprintf(stderr, "usage: bench_idle server SIZE | bench_idle client PORT COUNT SIZE\n");
  return 2;
}
