// A TLS client on a non-blocking socket, for the TLS integration tests
// (tests/integration/test_tls_nonblocking.py): the shim must record exactly
// the plaintext that SSL_write/SSL_write_ex reported written and
// SSL_read/SSL_read_ex reported read, never a peek, a WANT_READ/WANT_WRITE
// retry or a <= 0 return.
//
//   nonblocking_tls_client HOST PORT BYTES SENT_FILE RECEIVED_FILE
//
// Talks to an echo server that first sends a one-line banner: peeks at the
// banner (SSL_peek_ex), reads it, then writes BYTES bytes of a pattern in
// three requests (100 bytes, most of it in one request, the rest) with
// SSL_MODE_ENABLE_PARTIAL_WRITE, so that one request returns many times,
// while reading the echo with poll() driving both directions. SSL_write and
// SSL_write_ex alternate call by call, as do SSL_read and SSL_read_ex; every
// 8th read is preceded by an SSL_peek. Then SSL_shutdown, both ways.
//
// Every byte a write call reported written goes to SENT_FILE, every byte a
// read call returned to RECEIVED_FILE; stdout gets one JSON line with the
// counts. Exit status 0 only if the echo matched what was written.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Counters {
  long want_read = 0;
  long want_write = 0;
  long partial_writes = 0;  // successful write calls that wrote less than asked
  long ssl_write = 0, ssl_write_ex = 0, ssl_read = 0, ssl_read_ex = 0;
  long ssl_peek = 0, ssl_peek_ex = 0;
  long peeked_bytes = 0;
  long handshake_calls = 0;
  long shutdown_calls = 0;
};

Counters counters;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "nonblocking_tls_client: %s (errno %d: %s)\n", what, errno,
               std::strerror(errno));
  ERR_print_errors_fp(stderr);
  std::exit(2);
}

unsigned char patternByte(size_t i) { return static_cast<unsigned char>((i * 7 + i / 251) % 256); }

void waitFor(int fd, short events) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = poll(&p, 1, 60000);
    if (n > 0) return;
    if (n == 0) fail("poll timed out");
    if (errno != EINTR) fail("poll");
  }
}

// Returns the poll event that SSL wants for `ret`, or 0 if the call
// succeeded; fails on anything else.
short wanted(SSL* ssl, int ret, const char* what) {
  int error = SSL_get_error(ssl, ret);
  if (error == SSL_ERROR_WANT_READ) {
    ++counters.want_read;
    return POLLIN;
  }
  if (error == SSL_ERROR_WANT_WRITE) {
    ++counters.want_write;
    return POLLOUT;
  }
  std::fprintf(stderr, "nonblocking_tls_client: %s: SSL error %d\n", what, error);
  fail(what);
}

class Output {
 public:
  explicit Output(const char* path) : file_(std::fopen(path, "wb")) {
    if (!file_) fail("cannot open an output file");
  }
  ~Output() { std::fclose(file_); }
  void add(const unsigned char* data, size_t size) {
    if (size && std::fwrite(data, 1, size, file_) != size) fail("fwrite");
    total += size;
  }
  size_t total = 0;

 private:
  FILE* file_;
};

int connectNonBlocking(const char* host, const char* port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(host, port, &hints, &result) != 0 || !result) fail("getaddrinfo");
  int fd = socket(result->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) fail("socket");
  // A small send buffer: a 16 KiB record does not fit, so writes return
  // WANT_WRITE while the peer has not read.
  int sndbuf = 4096;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (connect(fd, result->ai_addr, result->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) fail("connect");
    waitFor(fd, POLLOUT);
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      errno = error;
      fail("connect (async)");
    }
  }
  freeaddrinfo(result);
  return fd;
}

// One read call, alternating SSL_read and SSL_read_ex (every 8th preceded by
// an SSL_peek). Returns bytes read (> 0), 0 on close_notify, or -event.
long readOnce(SSL* ssl, unsigned char* buffer, size_t size) {
  static long calls = 0;
  ++calls;
  if (calls % 8 == 0) {
    unsigned char peek[100];
    ++counters.ssl_peek;
    int n = SSL_peek(ssl, peek, sizeof peek);
    if (n > 0) {
      counters.peeked_bytes += n;
    } else {
      int error = SSL_get_error(ssl, n);
      if (error == SSL_ERROR_ZERO_RETURN) return 0;
      return -wanted(ssl, n, "SSL_peek");
    }
  }
  if (calls % 2 == 0) {
    ++counters.ssl_read;
    int n = SSL_read(ssl, buffer, static_cast<int>(size));
    if (n > 0) return n;
    if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) return 0;
    return -wanted(ssl, n, "SSL_read");
  }
  ++counters.ssl_read_ex;
  size_t got = 0;
  int ok = SSL_read_ex(ssl, buffer, size, &got);
  if (ok == 1) return static_cast<long>(got);
  if (SSL_get_error(ssl, ok) == SSL_ERROR_ZERO_RETURN) return 0;
  return -wanted(ssl, ok, "SSL_read_ex");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s HOST PORT BYTES SENT_FILE RECEIVED_FILE\n", argv[0]);
    return 64;
  }
  const size_t total = std::strtoull(argv[3], nullptr, 10);
  if (total < 200) fail("BYTES must be at least 200");
  Output sent(argv[4]), received(argv[5]);

  std::vector<unsigned char> pattern(total);
  for (size_t i = 0; i < total; ++i) pattern[i] = patternByte(i);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) fail("SSL_CTX_new");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);

  int fd = connectNonBlocking(argv[1], argv[2]);
  SSL* ssl = SSL_new(ctx);
  if (!ssl || SSL_set_fd(ssl, fd) != 1) fail("SSL_new/SSL_set_fd");
  SSL_set_tlsext_host_name(ssl, "localhost");

  // Handshake: WANT_READ at least once (the ServerHello is not there yet).
  for (;;) {
    ++counters.handshake_calls;
    int ret = SSL_connect(ssl);
    if (ret == 1) break;
    waitFor(fd, wanted(ssl, ret, "SSL_connect"));
  }

  // The banner: peek at it first, then read it line to its end.
  std::string banner;
  unsigned char buffer[70000];
  for (;;) {
    ++counters.ssl_peek_ex;
    size_t got = 0;
    if (SSL_peek_ex(ssl, buffer, sizeof buffer, &got) == 1) {
      counters.peeked_bytes += static_cast<long>(got);
      break;
    }
    waitFor(fd, wanted(ssl, 0, "SSL_peek_ex"));
  }
  while (banner.empty() || banner.back() != '\n') {
    long n = readOnce(ssl, buffer, 1);  // byte by byte: no echo bytes get mixed in
    if (n == 0) fail("EOF in the banner");
    if (n < 0) {
      waitFor(fd, static_cast<short>(-n));
      continue;
    }
    received.add(buffer, static_cast<size_t>(n));
    banner.append(reinterpret_cast<char*>(buffer), static_cast<size_t>(n));
  }
  const size_t banner_size = banner.size();

  // Three write requests; a request that returns short continues with the
  // rest (a new request of the remaining bytes).
  const size_t requests[] = {100, total - 100 - 99, 99};
  size_t request = 0, request_done = 0;  // index and bytes done of the current request
  size_t written = 0, echoed = 0;
  long write_calls = 0;
  short write_wants = POLLOUT, read_wants = POLLIN;  // what each direction waits for
  std::vector<unsigned char> read_buffer(70000);
  size_t read_sizes[] = {5000, 70000, 16384, 1};
  long read_index = 0;
  while (echoed < total) {
    // Reads: until WANT_*.
    if (read_wants) {
      for (;;) {
        size_t size = read_sizes[read_index++ % 4];
        long n = readOnce(ssl, read_buffer.data(), size);
        if (n == 0) fail("EOF before the whole echo");
        if (n < 0) {
          read_wants = static_cast<short>(-n);
          break;
        }
        if (echoed + static_cast<size_t>(n) > total ||
            std::memcmp(read_buffer.data(), pattern.data() + echoed, static_cast<size_t>(n)) != 0) {
          fail("the echo differs from what was written");
        }
        received.add(read_buffer.data(), static_cast<size_t>(n));
        echoed += static_cast<size_t>(n);
      }
    }
    // Writes: until WANT_* or all written. A retry after WANT_* repeats the
    // same call with the same arguments, as OpenSSL requires.
    while (written < total && write_wants) {
      const unsigned char* data = pattern.data() + written;
      size_t size = requests[request] - request_done;
      size_t done = 0;
      int ret;
      bool ex = (write_calls % 2) == 1;
      if (ex) {
        ++counters.ssl_write_ex;
        ret = SSL_write_ex(ssl, data, size, &done);
        if (ret != 1) ret = 0;
      } else {
        ++counters.ssl_write;
        ret = SSL_write(ssl, data, static_cast<int>(size));
        if (ret > 0) done = static_cast<size_t>(ret);
      }
      if (ret <= 0) {
        write_wants = wanted(ssl, ret, ex ? "SSL_write_ex" : "SSL_write");
        break;
      }
      ++write_calls;
      if (done < size) ++counters.partial_writes;
      sent.add(data, done);
      written += done;
      request_done += done;
      if (request_done == requests[request]) {
        ++request;
        request_done = 0;
      }
    }
    if (echoed >= total) break;
    pollfd p{fd, 0, 0};
    if (read_wants) p.events |= read_wants;
    if (written < total) p.events |= write_wants ? write_wants : POLLOUT;
    if (!p.events) p.events = POLLIN;
    int n = poll(&p, 1, 60000);
    if (n == 0) fail("poll timed out in the echo loop");
    if (n < 0 && errno != EINTR) fail("poll");
    // Retry both directions: SSL may need the socket for either.
    read_wants = POLLIN;
    write_wants = POLLOUT;
  }

  // Shutdown: send close_notify, then wait for the peer's.
  int state;
  for (;;) {
    ++counters.shutdown_calls;
    state = SSL_shutdown(ssl);
    if (state >= 0) break;
    waitFor(fd, wanted(ssl, state, "SSL_shutdown"));
  }
  while (state == 0) {
    long n = readOnce(ssl, buffer, sizeof buffer);
    if (n > 0) fail("data after the echo");
    if (n == 0) break;  // the peer's close_notify
    waitFor(fd, static_cast<short>(-n));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);

  std::printf(
      "{\"banner\": %zu, \"sent\": %zu, \"received\": %zu, \"echoed\": %zu, \"want_read\": %ld, "
      "\"want_write\": %ld, \"partial_writes\": %ld, \"SSL_write\": %ld, \"SSL_write_ex\": %ld, "
      "\"SSL_read\": %ld, \"SSL_read_ex\": %ld, \"SSL_peek\": %ld, \"SSL_peek_ex\": %ld, "
      "\"peeked_bytes\": %ld, \"handshake_calls\": %ld, \"shutdown_calls\": %ld}\n",
      banner_size, sent.total, received.total, echoed, counters.want_read, counters.want_write,
      counters.partial_writes, counters.ssl_write, counters.ssl_write_ex, counters.ssl_read,
      counters.ssl_read_ex, counters.ssl_peek, counters.ssl_peek_ex, counters.peeked_bytes,
      counters.handshake_calls, counters.shutdown_calls);
  return 0;
}
