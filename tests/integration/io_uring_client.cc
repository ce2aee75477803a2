// A client that moves part of its bytes through io_uring, which no hook
// sees (the kernel does the I/O, not a libc call): the shim must find out
// from the kernel's own counts when the trace ends, and mark the gap.
//
//   io_uring_client PORT
// Sends "hooked;" with write(2) and reads its echo with read(2), then
// sends "uring;" and reads its echo through io_uring (IORING_OP_SEND /
// IORING_OP_RECV), then closes. Exit 0 when every echo was right.
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

[[noreturn]] void die(const char* what, int error = 0) {
  std::fprintf(stderr, "io_uring_client: %s: %s\n", what, std::strerror(error ? error : errno));
  std::exit(1);
}

// One operation through the ring; returns its result.
int submitAndWait(io_uring* ring) {
  if (io_uring_submit(ring) != 1) die("io_uring_submit");
  io_uring_cqe* completion = nullptr;
  const int error = io_uring_wait_cqe(ring, &completion);
  if (error < 0) die("io_uring_wait_cqe", -error);
  const int result = completion->res;
  io_uring_cqe_seen(ring, completion);
  return result;
}

void exchangeWithSyscalls(int fd, const std::string& word) {
  if (write(fd, word.data(), word.size()) != static_cast<ssize_t>(word.size())) die("write");
  std::string echo(word.size(), '\0');
  size_t got = 0;
  while (got < echo.size()) {
    const ssize_t n = read(fd, echo.data() + got, echo.size() - got);
    if (n <= 0) die("read");
    got += static_cast<size_t>(n);
  }
  if (echo != word) die("echo of the hooked write differs", EPROTO);
}

void exchangeWithRing(io_uring* ring, int fd, const std::string& word) {
  io_uring_prep_send(io_uring_get_sqe(ring), fd, word.data(), word.size(), 0);
  if (submitAndWait(ring) != static_cast<int>(word.size())) die("IORING_OP_SEND", EIO);
  std::string echo(word.size(), '\0');
  size_t got = 0;
  while (got < echo.size()) {
    io_uring_prep_recv(io_uring_get_sqe(ring), fd, echo.data() + got, echo.size() - got, 0);
    const int n = submitAndWait(ring);
    if (n <= 0) die("IORING_OP_RECV", n < 0 ? -n : EIO);
    got += static_cast<size_t>(n);
  }
  if (echo != word) die("echo of the ring's send differs", EPROTO);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: io_uring_client PORT\n");
    return 2;
  }
  io_uring ring;
  const int error = io_uring_queue_init(4, &ring, 0);
  if (error < 0) {
    std::fprintf(stderr, "io_uring_client: io_uring unavailable: %s\n", std::strerror(-error));
    return 77;  // the test skips
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) die("connect");
  exchangeWithSyscalls(fd, "hooked;");
  exchangeWithRing(&ring, fd, "uring;");
  close(fd);
  io_uring_queue_exit(&ring);
  return 0;
}
