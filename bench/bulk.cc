// Bulk transfer over loopback.
//   bench_bulk recv             accepts connections one after the other and
//                               reads each to EOF in 64 KiB reads
//   bench_bulk send PORT BYTES CHUNK
//                               writes BYTES in CHUNK-byte write(2) calls,
//                               half-closes, waits for the receiver's close;
//                               prints seconds=S bytes=B
#include <cstring>
#include <vector>

#include "common.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "recv") == 0) {
    const int listener = bench::listenLoopback();
    std::vector<char> buffer(65536);
    for (;;) {
      const int fd = bench::acceptOne(listener);
      bench::drain(fd, buffer.data(), buffer.size());
      close(fd);
    }
  }
  if (argc == 5 && std::strcmp(argv[1], "send") == 0) {
    const int port = static_cast<int>(bench::number(argv[2]));
    const long long bytes = bench::number(argv[3]);
    const size_t chunk = static_cast<size_t>(bench::number(argv[4]));
    std::vector<char> buffer(chunk);
    for (size_t i = 0; i < chunk; ++i) buffer[i] = static_cast<char>(i * 7 + i / 251);
    const double start = bench::now();
    const int fd = bench::connectLoopback(port);
    long long left = bytes;
    while (left > 0) {
      const size_t size = left < static_cast<long long>(chunk) ? static_cast<size_t>(left) : chunk;
      bench::writeAll(fd, buffer.data(), size);
      left -= static_cast<long long>(size);
    }
    shutdown(fd, SHUT_WR);
    char rest[64];
    bench::drain(fd, rest, sizeof(rest));  // the receiver closes when it has everything
    close(fd);
    std::printf("seconds=%.6f bytes=%lld\n", bench::now() - start, bytes);
    return 0;
  }
  std::fprintf(stderr, "usage: bench_bulk recv | bench_bulk send PORT BYTES CHUNK\n");
  return 2;
}
