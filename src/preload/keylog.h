// TAP_KEYLOG: the TLS secrets of tapped connections, appended in NSS key
// log format (what SSLKEYLOGFILE gives, what Wireshark reads), one write(2)
// per line so that concurrent processes never interleave lines.
//
// OpenSSL: the shim's callback is installed on every SSL_CTX
// (SSL_CTX_new) and stays there; a callback the program sets
// (SSL_CTX_set_keylog_callback: Python's keylog_filename, curl's
// SSLKEYLOGFILE) is remembered and called after the shim's line, never
// replaced. GnuTLS: the same with gnutls_session_set_keylog_function.
#pragma once

namespace tapshim::preload::keylog {

// Reads the path from the configuration (the constructor's copy).
void configure(const char* path);
bool enabled();

// SSL_CTX_new returned `context`.
void onOpenSslContext(void* context);
// The program sets its own callback on `context`: returns the callback to
// install instead (the shim's), or `callback` itself when key logging is off.
void* onOpenSslCallbackSet(void* context, void* callback);

// gnutls_init created `session`.
void onGnutlsSession(void* session);
// The program sets its own key log function: returns the one to install.
void* onGnutlsFunctionSet(void* session, void* function);

}  // namespace tapshim::preload::keylog
