// A TLS client with OpenSSL linked into its executable (libssl.a,
// libcrypto.a), and libc dynamically, so the shim loads but no preloaded
// hook sees its TLS calls. By default (TAP_PATCH) the shim detours them at
// load time (tests/integration/test_tls_patch_libssl_a.py); with
// TAP_PATCH=0 it cannot decrypt them, and must say so
// (tests/integration/test_tls_unhooked.py).
//
//   static_tls_client PORT CAFILE MESSAGE          from the main thread
//   static_tls_client thread PORT CAFILE MESSAGE   from a thread started after main
//   static_tls_client fork PORT CAFILE MESSAGE     from a forked child (the parent waits)
//   static_tls_client exec PROGRAM ARGS...         execs PROGRAM (examined afresh)
//
// Each connection goes to 127.0.0.1:PORT, checks the server's certificate
// for "localhost" against CAFILE, writes MESSAGE, sends close_notify and
// prints everything the server sent until it closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

int fail(const char* what) {
  std::fprintf(stderr, "static_tls_client: %s\n", what);
  ERR_print_errors_fp(stderr);
  return 1;
}

int converse(const char* port, const char* ca_file, const char* message) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) {
    return fail("connect failed");
  }
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (context == nullptr || SSL_CTX_load_verify_locations(context, ca_file, nullptr) != 1) {
    return fail("cannot load the CA file");
  }
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  SSL* tls = SSL_new(context);
  SSL_set_fd(tls, fd);
  SSL_set_tlsext_host_name(tls, "localhost");
  SSL_set1_host(tls, "localhost");
  if (SSL_connect(tls) != 1) return fail("handshake failed");
  const int length = static_cast<int>(std::strlen(message));
  if (SSL_write(tls, message, length) != length) return fail("write failed");
  SSL_shutdown(tls);
  char buffer[4096];
  int got;
  while ((got = SSL_read(tls, buffer, sizeof(buffer))) > 0) {
    std::fwrite(buffer, 1, static_cast<size_t>(got), stdout);
  }
  std::fflush(stdout);
  SSL_free(tls);
  SSL_CTX_free(context);
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "exec") == 0) {
    execv(argv[2], argv + 2);
    return fail("exec failed");
  }
  if (argc == 4) return converse(argv[1], argv[2], argv[3]);
  if (argc == 5 && std::strcmp(argv[1], "thread") == 0) {
    int status = 1;
    std::thread worker([&] { status = converse(argv[2], argv[3], argv[4]); });
    worker.join();
    return status;
  }
  if (argc == 5 && std::strcmp(argv[1], "fork") == 0) {
    const pid_t child = fork();
    if (child == 0) _exit(converse(argv[2], argv[3], argv[4]));
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child) return fail("fork failed");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  return fail("usage: static_tls_client [thread|fork] PORT CAFILE MESSAGE | exec PROGRAM ARGS...");
}
