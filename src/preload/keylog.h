// TAP_KEYLOG: the TLS secrets of tapped connections, appended in NSS key
// log format (what SSLKEYLOGFILE gives, what Wireshark reads), one write(2)
// per line so that concurrent processes never interleave lines.
//
// OpenSSL: the shim's callback is installed on every SSL_CTX
// (SSL_CTX_new) and stays there; a callback the program sets
// (SSL_CTX_set_keylog_callback: Python's keylog_filename, curl's
// SSLKEYLOGFILE) is remembered and called after the shim's line, never
// replaced. GnuTLS: the same with gnutls_session_set_keylog_function.
// mbedTLS 2.x: the configuration's export-keys callback
// (mbedtls_ssl_conf_export_keys_ext_cb), set at each mbedtls_ssl_setup,
// writes TLS 1.2's CLIENT_RANDOM line. wolfSSL as Debian builds it offers
// no key log; NSS writes SSLKEYLOGFILE itself.
#pragma once

namespace tapshim::preload::keylog {

// Reads the path from the configuration (the constructor's copy).
void configure(const char* path);
bool enabled();

// In a forked child (the atfork handler): the tables' locks start free, as
// a thread that held one at the fork does not exist there.
void forgetLocksAfterFork();

// SSL_CTX_new returned `context`.
void onOpenSslContext(void* context);
// The program sets its own callback on `context`: returns the callback to
// install instead (the shim's), or `callback` itself when key logging is off.
void* onOpenSslCallbackSet(void* context, void* callback);

// gnutls_init created `session`.
void onGnutlsSession(void* session);
// The program sets its own key log function: returns the one to install.
void* onGnutlsFunctionSet(void* session, void* function);

// mbedtls_ssl_config_init(conf): forget a callback of an earlier
// configuration at that address.
void onMbedTlsConfigInit(void* conf);
// mbedtls_ssl_setup(ssl, conf): the shim's export-keys callback goes on conf.
void onMbedTlsSetup(const void* conf);
// The program sets its own export-keys callback: it is remembered, and
// *callback and *argument become the shim's.
void onMbedTlsCallbackSet(void* conf, void** callback, void** argument);

}  // namespace tapshim::preload::keylog
