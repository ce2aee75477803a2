// A TLS client linked with Debian's wolfSSL (libwolfssl.so), for
// tests/integration/test_tls_wolfssl.py: the shim must record the plaintext
// of wolfSSL's write and read calls, once each (wolfSSL_send and
// wolfSSL_writev call wolfSSL_write inside the library, wolfSSL_recv calls
// wolfSSL_read), never a peek and never the records on the socket.
//
//   wolfssl_client [--cafile FILE] [--tls12 | --tls13] [--shut] PORT [PART...]
//
// Connects a socket of its own to 127.0.0.1:PORT, hands it to wolfSSL with
// wolfSSL_set_fd and does the handshake (wolfSSL_connect; either version
// unless one is named), verifying the server's certificate for "localhost"
// against FILE with --cafile, or not at all without it. Then sends the
// PARTs in turn, part i with wolfSSL_write (i % 3 == 0), wolfSSL_writev of
// two iovecs (i % 3 == 1) or wolfSSL_send (i % 3 == 2); without PART, stdin
// is sent as three such parts. With --shut, wolfSSL_shutdown sends
// close_notify right after. Then it peeks (wolfSSL_peek) at the first bytes
// of the response and reads until the server's close_notify or EOF,
// alternating wolfSSL_read and wolfSSL_recv, writes what it received to
// stdout and sends close_notify (unless --shut did). Exit status 0 on
// success. stderr gets "local_port N" (the connection's local port) after
// connect.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
// options.h first: it says how the library was built.
#include <wolfssl/options.h>
//
#include <wolfssl/ssl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, WOLFSSL* ssl = nullptr, int ret = 0) {
  char text[WOLFSSL_MAX_ERROR_SZ] = "";
  int error = ssl ? wolfSSL_get_error(ssl, ret) : 0;
  if (ssl) wolfSSL_ERR_error_string_n(static_cast<unsigned long>(error), text, sizeof text);
  std::fprintf(stderr, "wolfssl_client: %s (%d: %s)\n", what, error, text);
  std::exit(2);
}

std::string readAll(FILE* in) {
  std::string data;
  char buffer[65536];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, in)) > 0) data.append(buffer, got);
  return data;
}

// Sends `data` with the entry point of part `index`; every call must take
// all it is given (blocking socket, no partial writes).
void sendPart(WOLFSSL* ssl, size_t index, const std::string& data) {
  if (data.empty()) return;
  const int size = static_cast<int>(data.size());
  int n;
  switch (index % 3) {
    case 0:
      n = wolfSSL_write(ssl, data.data(), size);
      break;
    case 1: {
      iovec iov[2];
      const size_t half = data.size() / 2;
      iov[0].iov_base = const_cast<char*>(data.data());
      iov[0].iov_len = half;
      iov[1].iov_base = const_cast<char*>(data.data()) + half;
      iov[1].iov_len = data.size() - half;
      n = wolfSSL_writev(ssl, iov, 2);
      break;
    }
    default:
      n = wolfSSL_send(ssl, data.data(), size, 0);
      break;
  }
  if (n != size) fail("a write call did not take the whole part", ssl, n);
}

void shutDown(WOLFSSL* ssl) {
  int ret = wolfSSL_shutdown(ssl);
  if (ret != WOLFSSL_SUCCESS && ret != WOLFSSL_SHUTDOWN_NOT_DONE) {
    fail("wolfSSL_shutdown", ssl, ret);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: wolfssl_client [--cafile FILE] [--tls12 | --tls13] [--shut] PORT [PART...]";
  const char* cafile = nullptr;
  int version = 0;
  bool shut = false;
  int arg = 1;
  for (; arg < argc && std::strncmp(argv[arg], "--", 2) == 0; ++arg) {
    if (std::strcmp(argv[arg], "--cafile") == 0 && arg + 1 < argc) {
      cafile = argv[++arg];
    } else if (std::strcmp(argv[arg], "--tls12") == 0) {
      version = 12;
    } else if (std::strcmp(argv[arg], "--tls13") == 0) {
      version = 13;
    } else if (std::strcmp(argv[arg], "--shut") == 0) {
      shut = true;
    } else {
      fail(usage);
    }
  }
  if (arg >= argc) fail(usage);
  const int port = std::atoi(argv[arg++]);
  std::vector<std::string> parts(argv + arg, argv + argc);
  if (parts.empty()) {
    const std::string all = readAll(stdin);
    const size_t third = all.size() / 3;
    parts = {all.substr(0, third), all.substr(third, third), all.substr(2 * third)};
  }

  if (wolfSSL_Init() != WOLFSSL_SUCCESS) fail("wolfSSL_Init");
  WOLFSSL_METHOD* method = version == 12   ? wolfTLSv1_2_client_method()
                           : version == 13 ? wolfTLSv1_3_client_method()
                                           : wolfSSLv23_client_method();
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(method);
  if (!ctx) fail("wolfSSL_CTX_new");
  if (cafile) {
    if (wolfSSL_CTX_load_verify_locations(ctx, cafile, nullptr) != WOLFSSL_SUCCESS) {
      fail("wolfSSL_CTX_load_verify_locations");
    }
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, nullptr);
  } else {
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
  }

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("socket");
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) fail("connect");
  sockaddr_in local{};
  socklen_t length = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) fail("getsockname");
  std::fprintf(stderr, "local_port %d\n", ntohs(local.sin_port));

  WOLFSSL* ssl = wolfSSL_new(ctx);
  if (!ssl) fail("wolfSSL_new");
  if (wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) fail("wolfSSL_set_fd", ssl);
  if (wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, "localhost", 9) != WOLFSSL_SUCCESS) {
    fail("wolfSSL_UseSNI", ssl);
  }
  if (cafile && wolfSSL_check_domain_name(ssl, "localhost") != WOLFSSL_SUCCESS) {
    fail("wolfSSL_check_domain_name", ssl);
  }
  int ret = wolfSSL_connect(ssl);
  if (ret != WOLFSSL_SUCCESS) fail("wolfSSL_connect", ssl, ret);

  for (size_t i = 0; i < parts.size(); ++i) sendPart(ssl, i, parts[i]);
  if (shut) shutDown(ssl);

  std::string received;
  char buffer[5000];  // less than a record: some records take two reads
  ret = wolfSSL_peek(ssl, buffer, 10);
  if (ret < 0) fail("wolfSSL_peek", ssl, ret);
  for (long calls = 0;; ++calls) {
    int n = calls % 2 == 0 ? wolfSSL_read(ssl, buffer, sizeof buffer)
                           : wolfSSL_recv(ssl, buffer, sizeof buffer, 0);
    if (n > 0) {
      received.append(buffer, static_cast<size_t>(n));
      continue;
    }
    int error = wolfSSL_get_error(ssl, n);
    if (n == 0 || error == WOLFSSL_ERROR_ZERO_RETURN || error == SOCKET_PEER_CLOSED_E) break;
    fail(calls % 2 == 0 ? "wolfSSL_read" : "wolfSSL_recv", ssl, n);
  }
  // The peer may have closed the socket already: the alert may not get
  // there, which is no failure of this client.
  if (!shut) wolfSSL_shutdown(ssl);
  if (std::fwrite(received.data(), 1, received.size(), stdout) != received.size()) fail("fwrite");

  wolfSSL_free(ssl);
  wolfSSL_CTX_free(ctx);
  close(fd);
  wolfSSL_Cleanup();
  return 0;
}
