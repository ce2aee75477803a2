// A TLS client with OpenSSL linked into its executable (libssl.a,
// libcrypto.a), and libc dynamically, so the shim loads but no preloaded
// hook sees its TLS calls: the kind of program whose TLS the shim cannot
// decrypt, and must say so (tests/integration/test_tls_unhooked.py).
//
//   static_tls_client PORT CAFILE MESSAGE
// Connects to 127.0.0.1:PORT, checks the server's certificate for
// "localhost" against CAFILE, writes MESSAGE, sends close_notify, and
// prints everything the server sent until it closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

int fail(const char* what) {
  std::fprintf(stderr, "static_tls_client: %s\n", what);
  ERR_print_errors_fp(stderr);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return fail("usage: static_tls_client PORT CAFILE MESSAGE");
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) {
    return fail("connect failed");
  }
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (context == nullptr || SSL_CTX_load_verify_locations(context, argv[2], nullptr) != 1) {
    return fail("cannot load the CA file");
  }
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  SSL* tls = SSL_new(context);
  SSL_set_fd(tls, fd);
  SSL_set_tlsext_host_name(tls, "localhost");
  SSL_set1_host(tls, "localhost");
  if (SSL_connect(tls) != 1) return fail("handshake failed");
  const size_t length = std::strlen(argv[3]);
  if (SSL_write(tls, argv[3], static_cast<int>(length)) != static_cast<int>(length)) {
    return fail("write failed");
  }
  SSL_shutdown(tls);  // close_notify: the server echoes, then closes
  char buffer[4096];
  int got;
  while ((got = SSL_read(tls, buffer, sizeof(buffer))) > 0) {
    std::fwrite(buffer, 1, static_cast<size_t>(got), stdout);
  }
  SSL_free(tls);
  SSL_CTX_free(context);
  close(fd);
  return 0;
}
