// What a hook tells the tap core after (or, for closing, before) the real
// call: each function turns one call's arguments and result into engine
// verbs. They run only when tapping is on, with errno already saved.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>

#include "preload/tls_libraries.h"

namespace tapshim::preload::report {

// What a hook's `before` step learnt, for its `after` step.
struct CallState {
  // sendfile: where in the input file the bytes start; -1 when the output
  // is not a tapped socket or the position is unknown.
  int64_t file_position = -1;
  // TLS calls: this call is the thread's outermost TLS call (one API may
  // wrap another: record once).
  bool tls_outermost = false;
  // TLS calls: the call is one (NSPR's PR_Read is a TLS call only on an
  // SSL-layered descriptor).
  bool tls_entered = false;
  // Writes: the engine's TLS epoch before the call (TapEngine::onData).
  uint64_t tls_epoch = ~uint64_t{0};
};

void received(int fd, ssize_t result, const void* buffer, int flags);
void receivedVector(int fd, ssize_t result, const iovec* iov, int iovcnt);
void receivedMessage(int fd, ssize_t result, const msghdr* message, int flags);
void receivedMessages(int fd, int result, const mmsghdr* messages, int flags);

// Before a write: notes the TLS epoch (a write is recorded as plaintext
// when it began before its connection turned TLS).
void sending(CallState& call);
void sent(const CallState& call, int fd, ssize_t result, const void* buffer);
void sentVector(const CallState& call, int fd, ssize_t result, const iovec* iov, int iovcnt);
void sentMessage(const CallState& call, int fd, ssize_t result, const msghdr* message);
void sentMessages(const CallState& call, int fd, int result, const mmsghdr* messages);

void sendingFile(CallState& call, int out_fd, int in_fd, const off_t* offset);
void sentFile(const CallState& call, int out_fd, int in_fd, ssize_t result);
void spliced(int fd_in, int fd_out, ssize_t result);

// TLS calls. Sessions are the library's own handle: SSL*,
// gnutls_session_t, mbedtls_ssl_context*, WOLFSSL*, NSS's PRFileDesc*.
using TlsLibrary = tls::Library;
void tlsEnter(CallState& call, const void* session);
// NSPR's calls: a TLS call when `fd` is an NSS session, else nothing.
void nssEnter(CallState& call, const void* fd);
void tlsLeave(const CallState& call);
// After a TLS read (SSL_read, gnutls_record_recv, mbedtls_ssl_read, ...):
// `result` bytes, or, with `count` (OpenSSL's _ex forms), result 1 and
// *count bytes.
void tlsReceived(const CallState& call, const void* session, const void* buffer, ssize_t result,
                 const size_t* count, TlsLibrary library);
// PR_Recv: as tlsReceived, except that a peek (PR_MSG_PEEK) consumed nothing.
void nssReceived(const CallState& call, const void* fd, const void* buffer, int32_t result,
                 int flags);
void tlsSent(const CallState& call, const void* session, const void* buffer, ssize_t result,
             const size_t* count, TlsLibrary library);
// wolfSSL_writev: `result` bytes from the vector.
void tlsSentVector(const CallState& call, const void* session, const iovec* iov, int iovcnt,
                   ssize_t result, TlsLibrary library);
// PR_Writev: `result` bytes from NSPR's vector.
void nssSentVector(const CallState& call, const void* fd, const void* pr_iovec, int32_t count,
                   int32_t result);
// PR_Close returned: an NSS session closed ends as a freed one.
void nssClosed(const CallState& call, const void* fd);
void tlsBound(const void* session, int fd, bool ok);
void tlsBoundPointer(const void* session, const void* pointer);
// The session was freed, or reset for another connection.
void tlsFreed(const void* session);
// BIO_write returned `result`: a memory-BIO program may be feeding its TLS
// library the bytes it just read from a socket.
void bioWritten(const void* bio, const void* data, int result);

void created(int result);
void connected(int fd, int result, const sockaddr* address, socklen_t length);
void accepted(int result);
void shutDown(int fd, int how, int result);
void replacing(int old_fd, int new_fd);
void duplicated(int old_fd, int result);
void closing(int fd);
void closingRange(unsigned int first, unsigned int last, int flags);
void closingFrom(int first);
// The process ends without running destructors (_exit, _Exit).
void exiting();
// The process is about to exec `program` (a path, or a name looked up in
// PATH with `search_path`; nullptr when only an fd names it).
void executing(const char* program, bool search_path);
// execveat: `path` is relative to a directory fd unless absolute, so only
// an absolute one names the program.
void executingAt(const char* path);

}  // namespace tapshim::preload::report
