// A program that carries its TLS library inside the executable (the
// NodeSource node on these machines links OpenSSL statically) calls its own
// SSL_write: no preloaded hook ever sees it. The shim says so, once, and
// the trace holds what the socket carried.
#pragma once

namespace tapshim::preload {

// Checks the first time it is called (at the first connection), and prints
// one line if the executable defines OpenSSL's or GnuTLS's functions.
void checkTlsInExecutableOnce();

}  // namespace tapshim::preload
