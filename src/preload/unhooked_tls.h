// TLS that no hook sees. The shim hooks the shared libraries of OpenSSL,
// GnuTLS, mbedTLS, wolfSSL and NSS; a program whose TLS is elsewhere
// (inside its executable, as the NodeSource node links OpenSSL; a JVM's
// JSSE; rustls) has its connections traced as the ciphertext their sockets
// carry. A silent result of ciphertext would be a bug: the shim says so,
// once per process, naming what it can tell.
#pragma once

namespace tapshim::core {
class TapEngine;
}

namespace tapshim::preload {

// Checks the first time it is called (at the first connection), and prints
// one line if the executable defines a hooked TLS library's functions.
void checkTlsInExecutableOnce();

// After connections end (close, exit, exec): if one began with a TLS
// handshake record that no hooked TLS call claimed, prints one line (once
// per process) naming the TLS library loaded that tapshim does not hook,
// if any. Called outside every lock of the engine (it walks the loader's
// list of objects).
void reportUnhookedTls(core::TapEngine& engine);

}  // namespace tapshim::preload
