// The state of one tapped connection, shared by every fd that refers to it
// (dup), and the pool these objects live in.
//
// Objects are type-stable: once made they are only ever reused as
// TappedConnection, never freed. A hook reads the fd table without a lock
// and may still hold a pointer to a connection that another thread has just
// closed; locking its mutex and re-checking the fd table is then safe.
#pragma once

#include <atomic>
#include <optional>

#include "tap_core/base/lock.h"
#include "tap_core/tapper/buffered_tapper.h"
#include "tap_core/tapper/streamed_tapper.h"
#include "tap_core/trace/trace_types.h"

namespace tapshim::core {

class TappedConnection {
 public:
  enum class State : uint8_t {
    kFree,         // in the pool
    kConnecting,   // non-blocking connect not yet known to have succeeded
    kEstablished,  // recording
    kClosed,       // trace written (at exit); fds may still refer to it
  };
  enum class Origin : uint8_t { kConnected, kAccepted, kAdopted };

  // Guards every member below except pending_gap.
  Mutex mutex;
  State state = State::kFree;
  Origin origin = Origin::kConnected;
  // TAP_MATCH depends on `tls`, not known yet: nothing is written until
  // the first data (or the close) decides.
  bool undecided = false;
  // Undecided, but recording on approval: the match waits for `tls`, and
  // the connection began in plaintext, which a STARTTLS protocol turns
  // into TLS later. Its tapper holds everything until the match decides.
  bool provisional = false;
  // How many fds refer to this connection; the last close ends it.
  int fd_refs = 0;
  ConnectionInfo info;
  // TapEngine's fork generation when this connection was made: a different
  // current value means a child process inherited it.
  uint64_t fork_generation = 0;
  // Bumped each time the object is reused, so that a TLS session bound to
  // an earlier connection in this object can tell it is gone.
  uint64_t incarnation = 0;
  // TLS runs on this connection (the TLS library did I/O on it): socket
  // data is ciphertext and never recorded; the plaintext comes from the
  // TLS hooks.
  bool tls = false;
  // The engine's TLS epoch when `tls` became true (TapEngine::onData).
  uint64_t tls_since = 0;
  // A forked child's copy of a connection its parent tapped: the bytes
  // moved before the child took it over are in the parent's trace, so the
  // kernel's counts cannot be held against this one's.
  bool inherited = false;
  // The connection's first bytes were a TLS handshake record. If no hooked
  // TLS call ever claims it, its TLS is done by a library the shim does not
  // hook, and its trace holds ciphertext: the user is told.
  bool looks_tls = false;
  // One of the two, by configuration.
  std::optional<BufferedTapper> buffered;
  std::optional<StreamedTapper> streamed;
  // Set without the lock by a hook that could not record (it ran inside
  // the shim on the same thread, e.g. from a signal handler): the next
  // recording first adds a gap for that direction.
  std::atomic<bool> pending_gap[2] = {false, false};
  // Per direction (Direction's order): the bytes hooked calls moved, and
  // whether the trace already marks a gap (bytes moved that the shim could
  // not see). At the end they are held against the kernel's own counts.
  uint64_t moved[2] = {0, 0};
  bool gap_marked[2] = {false, false};

  PerSocketTapper* tapper() {
    if (buffered) return &*buffered;
    return streamed ? &*streamed : nullptr;
  }
  // Back to a blank kFree state; the caller holds `mutex`.
  void resetLocked();

 private:
  friend class ConnectionPool;
  TappedConnection* next_free_ = nullptr;
};

class ConnectionPool {
 public:
  // A connection in state kFree, reset; nullptr when memory is short.
  TappedConnection* acquire();
  // Back to the pool; the connection was reset (resetLocked) and its lock
  // released.
  void release(TappedConnection* connection);
  // In a forked child: start with an empty pool, leaving the parent's
  // objects untouched.
  void forgetAfterFork();

 private:
  static constexpr size_t kSlabBytes = 64 * 1024;

  Mutex mutex_;
  TappedConnection* free_ = nullptr;
};

}  // namespace tapshim::core
