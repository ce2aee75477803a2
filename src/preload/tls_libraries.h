// What the shim knows of each TLS library it hooks, beyond hooks.def's
// rows: how a session names its socket, and which NSPR file descriptors are
// NSS's TLS sessions. Every function here calls into the library by name
// (real::LibraryFunction); none links it.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace tapshim::preload::tls {

enum class Library : uint8_t { kOpenSsl, kGnuTls, kMbedTls, kWolfSsl, kNss };

// The socket a session was given, for a session whose socket I/O the shim
// has not seen yet: SSL_get_fd, wolfSSL_get_fd, PR_FileDesc2NativeHandle.
// nullptr where the library has no such call (GnuTLS, mbedTLS: their
// sessions are tied by the socket I/O inside their calls).
using SessionFd = int (*)(const void* session);
SessionFd sessionFdOf(Library library);

// OpenSSL's SSL_get_rbio: the memory BIO a session reads its records from.
const void* openSslReadBio(const void* session);

// NSS: PR_Read and its kin serve every NSPR file descriptor; only one whose
// top layer is NSS's SSL layer (SSL_ImportFD) is a TLS session.
bool isNssSession(const void* fd);

// NSPR's PR_Writev vector ({char*, int} entries, at most 16) as iovecs:
// returns the number of entries written to `out` (0 when it does not fit).
constexpr int kNssMaxVector = 16;
int nssVector(const void* pr_iovec, int32_t count, iovec* out);

}  // namespace tapshim::preload::tls
