// A TLS client linked with Debian's mbedTLS 2.28 (libmbedtls.so), for
// tests/integration/test_tls_mbedtls.py: the shim must record the plaintext
// of mbedtls_ssl_write and mbedtls_ssl_read, never the records that
// mbedtls_net_send/mbedtls_net_recv carry.
//
//   mbedtls_client [--cafile FILE] [--keylog FILE] [--shut] PORT [PART...]
//
// Connects to 127.0.0.1:PORT with mbedtls_net_connect, sets the BIO to
// mbedtls_net_send/mbedtls_net_recv and does the handshake (TLS 1.2),
// verifying the server's certificate for "localhost" against FILE with
// --cafile, or not at all without it. Then sends each PART with its own
// mbedtls_ssl_write calls (as many as a part needs), or stdin when no PART
// is given; with --shut, sends close_notify right after; then reads until
// the server's close_notify or EOF, writes what it received to stdout and
// sends close_notify (unless --shut did). Exit status 0 on success.
//
// --keylog FILE: the program's own key export callback
// (mbedtls_ssl_conf_export_keys_ext_cb) appends a CLIENT_RANDOM line in
// NSS key log format to FILE, as a program with a key log of its own does.
// stderr gets "local_port N" (the connection's local port) after connect.
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, int code = 0) {
  char text[200] = "";
  if (code != 0) mbedtls_strerror(code, text, sizeof text);
  std::fprintf(stderr, "mbedtls_client: %s (%d: %s)\n", what, code, text);
  std::exit(2);
}

void hex(FILE* out, const unsigned char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) std::fprintf(out, "%02x", data[i]);
}

// The program's own key log: one CLIENT_RANDOM line per handshake.
int exportKeys(void* path, const unsigned char* master, const unsigned char*, size_t, size_t,
               size_t, const unsigned char client_random[32], const unsigned char[32],
               mbedtls_tls_prf_types) {
  FILE* out = std::fopen(static_cast<const char*>(path), "a");
  if (!out) return 0;  // the handshake goes on without a key log
  std::fputs("CLIENT_RANDOM ", out);
  hex(out, client_random, 32);
  std::fputc(' ', out);
  hex(out, master, 48);
  std::fputc('\n', out);
  std::fclose(out);
  return 0;
}

std::string readAll(FILE* in) {
  std::string data;
  char buffer[65536];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, in)) > 0) data.append(buffer, got);
  return data;
}

void writeAll(mbedtls_ssl_context* ssl, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    int n = mbedtls_ssl_write(ssl, reinterpret_cast<const unsigned char*>(data.data()) + done,
                              data.size() - done);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (n <= 0) fail("mbedtls_ssl_write", n);
    done += static_cast<size_t>(n);
  }
}

void closeNotify(mbedtls_ssl_context* ssl) {
  int ret;
  while ((ret = mbedtls_ssl_close_notify(ssl)) == MBEDTLS_ERR_SSL_WANT_WRITE) {
  }
  if (ret != 0) fail("mbedtls_ssl_close_notify", ret);
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: mbedtls_client [--cafile FILE] [--keylog FILE] [--shut] PORT [PART...]";
  const char* cafile = nullptr;
  const char* keylog = nullptr;
  bool shut = false;
  int arg = 1;
  for (; arg < argc && std::strncmp(argv[arg], "--", 2) == 0; ++arg) {
    if (std::strcmp(argv[arg], "--cafile") == 0 && arg + 1 < argc) {
      cafile = argv[++arg];
    } else if (std::strcmp(argv[arg], "--keylog") == 0 && arg + 1 < argc) {
      keylog = argv[++arg];
    } else if (std::strcmp(argv[arg], "--shut") == 0) {
      shut = true;
    } else {
      fail(usage);
    }
  }
  if (arg >= argc) fail(usage);
  const char* port = argv[arg++];
  std::vector<std::string> parts(argv + arg, argv + argc);
  if (parts.empty()) parts.push_back(readAll(stdin));

  mbedtls_net_context net;
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_net_init(&net);
  mbedtls_ssl_init(&ssl);
  mbedtls_ssl_config_init(&conf);
  mbedtls_x509_crt_init(&ca);
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);

  int ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                  reinterpret_cast<const unsigned char*>("tapshim"), 7);
  if (ret != 0) fail("mbedtls_ctr_drbg_seed", ret);
  ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret != 0) fail("mbedtls_ssl_config_defaults", ret);
  mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
  if (cafile) {
    ret = mbedtls_x509_crt_parse_file(&ca, cafile);
    if (ret != 0) fail("mbedtls_x509_crt_parse_file", ret);
    mbedtls_ssl_conf_ca_chain(&conf, &ca, nullptr);
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  } else {
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
  }
  if (keylog) mbedtls_ssl_conf_export_keys_ext_cb(&conf, exportKeys, const_cast<char*>(keylog));
  ret = mbedtls_ssl_setup(&ssl, &conf);
  if (ret != 0) fail("mbedtls_ssl_setup", ret);
  ret = mbedtls_ssl_set_hostname(&ssl, "localhost");
  if (ret != 0) fail("mbedtls_ssl_set_hostname", ret);

  ret = mbedtls_net_connect(&net, "127.0.0.1", port, MBEDTLS_NET_PROTO_TCP);
  if (ret != 0) fail("mbedtls_net_connect", ret);
  sockaddr_in local{};
  socklen_t length = sizeof local;
  if (getsockname(net.fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) fail("getsockname");
  std::fprintf(stderr, "local_port %d\n", ntohs(local.sin_port));
  mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, nullptr);

  while ((ret = mbedtls_ssl_handshake(&ssl)) != 0) {
    if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
      fail("mbedtls_ssl_handshake", ret);
    }
  }
  if (cafile && mbedtls_ssl_get_verify_result(&ssl) != 0) fail("the certificate did not verify");

  for (const std::string& part : parts) writeAll(&ssl, part);
  if (shut) closeNotify(&ssl);

  std::string received;
  unsigned char buffer[5000];  // less than a record: some records take two reads
  for (;;) {
    int n = mbedtls_ssl_read(&ssl, buffer, sizeof buffer);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == 0) break;
    if (n < 0) fail("mbedtls_ssl_read", n);
    received.append(reinterpret_cast<char*>(buffer), static_cast<size_t>(n));
  }
  if (!shut) {
    // The peer may have closed the socket already: the alert may not get
    // there, which is no failure of this client.
    mbedtls_ssl_close_notify(&ssl);
  }
  if (std::fwrite(received.data(), 1, received.size(), stdout) != received.size()) fail("fwrite");

  mbedtls_ssl_free(&ssl);
  mbedtls_ssl_config_free(&conf);
  mbedtls_x509_crt_free(&ca);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
  mbedtls_net_free(&net);
  return 0;
}
