// src/tap_core/engine/: the top of the tap core. TapEngine (this file)
// turns what the hooks report about fds into tapped connections: the fd
// table (fd_table.h, a lock-free read per call), the connection and its
// tapper (tapped_connection.h), what a socket is (socket_probe.h, and the
// kernel's byte counts in tcp_totals.cc), TLS sessions tied to their
// sockets (tls_sessions.h), the match and the config. The only layer that
// may use every other one; src/preload drives it and nothing else.
//
// The tap core's entry points: what the preload layer reports after each
// hooked call (AppScope's "do" verbs), turned into per-connection tapping.
//
// The engine knows fds, not symbols: it is driven by the hooks in
// src/preload and, in unit tests, directly.
#pragma once

#include <sys/socket.h>

#include <atomic>

#include "tap_core/config/config.h"
#include "tap_core/engine/fd_table.h"
#include "tap_core/engine/socket_probe.h"
#include "tap_core/engine/tapped_connection.h"
#include "tap_core/engine/tls_sessions.h"
#include "tap_core/match/match_expression.h"
#include "tap_core/tapper/tapper.h"

namespace tapshim::core {

class TapEngine {
 public:
  // Every collaborator must outlive the engine.
  TapEngine(const Config& config, Clock& clock, Sink& sink, const TraceEncoder& encoder,
            SocketProbe& probe, TraceIds& ids);

  // socket() returned `fd`: forget anything stale recorded for that number.
  void onSocketCreated(int fd);
  // connect() returned 0 (`completed`) or failed with EINPROGRESS/EALREADY
  // /EISCONN. `peer` is the address the program asked for.
  void onConnect(int fd, const sockaddr* peer, socklen_t peer_length, bool completed);
  // accept()/accept4() returned `fd`.
  void onAccepted(int fd);
  // A call moved data.size() > 0 bytes in `direction` on `fd`.
  // `epoch_before` is tlsEpoch() read before the call: a write that began
  // before its connection turned TLS (another thread's handshake) is the
  // program's plaintext, as the kernel took it.
  void onData(int fd, Direction direction, const IoSlices& data,
              uint64_t epoch_before = kNoTlsEpoch);
  // Counts the connections that turned TLS, for onData's `epoch_before`.
  static constexpr uint64_t kNoTlsEpoch = ~uint64_t{0};
  uint64_t tlsEpoch() const { return tls_epoch_.load(std::memory_order_relaxed); }
  // Whether any connection was ever tapped: until then the preload layer
  // leaves the process's signal handlers alone.
  bool startedAnyConnection() const { return started_any_.load(std::memory_order_relaxed); }
  // A call moved bytes the shim could not see (recv with MSG_TRUNC).
  void onUnseen(int fd, Direction direction);
  // Whether `fd` is, or may turn out to be, a tapped connection: false only
  // for fds known not to be. Lock-free; lets a hook skip preparatory work.
  bool mayBeTapped(int fd) const { return table_.get(fd) != FdTable::kNotTapped; }
  // A hook could not record (it ran inside the shim on this thread, e.g.
  // from a signal handler): mark a gap without taking any lock.
  void onUnrecorded(int fd, Direction direction);
  // --- TLS: `session` is an OpenSSL SSL* or a gnutls_session_t.
  // The TLS library did socket I/O on `fd` inside a call for `session`: the
  // bytes were TLS records, never recorded; the session carries this
  // connection (TLS from now on).
  void onTlsSocketIo(const void* session, int fd);
  // The program gave the session its fd (SSL_set_fd, gnutls_transport_*).
  void onTlsBind(const void* session, int fd);
  // Plaintext the program read or wrote through `session`. When the
  // session has no connection yet, `session_fd(session)` (SSL_get_fd) may
  // name it; failing that the session gets a trace of its own with
  // unknown addresses.
  void onTlsData(const void* session, Direction direction, const IoSlices& data,
                 int (*session_fd)(const void* session),
                 const void* (*session_read_bio)(const void* session) = nullptr);
  // A memory-BIO program fed `bio` (BIO_write) the very bytes it had just
  // read from socket `fd` on this thread: the session reading from that
  // BIO (SSL_get_rbio) carries that connection, which runs TLS.
  void onTlsBioFed(const void* bio, int fd);
  // A session of a TLS library inside the executable (node: its own BIO,
  // which libuv fills from the socket outside every TLS call) begins a
  // call right after this thread read `fd`: it consumes those bytes, so it
  // carries that connection, when the connection began with a TLS
  // handshake record and no session holds it yet. A binding to a
  // connection that has ended (an address SSL_free'd and reused, where
  // SSL_free could not be detoured) is replaced.
  void onTlsSocketReadConsumed(const void* session, int fd);
  // Whether the session's secrets belong in the key log: false when its
  // connection is one the configuration does not tap.
  bool tlsSessionTapped(const void* session) {
    TlsSessions::Binding binding;
    return !tls_sessions_.find(session, &binding) || !binding.excluded;
  }
  // The session was freed (SSL_free, gnutls_deinit).
  void onTlsSessionEnd(const void* session);

  // shutdown(fd, how) succeeded.
  void onShutdown(int fd, int how);
  // dup/dup2/dup3/F_DUPFD made `new_fd` refer to what `old_fd` refers to.
  void onDuplicated(int old_fd, int new_fd);
  // dup2/dup3 is about to make `new_fd` a copy of `old_fd`, closing what
  // `new_fd` was; only the sink's own fds care before the call.
  void onReplacing(int old_fd, int new_fd);
  // close(fd) is about to be called (the socket is still open).
  void onClose(int fd);
  // close_range/closefrom is about to close [first, last].
  void onCloseRange(unsigned first, unsigned last);
  // In the parent after fork: connections open now are shared with the
  // child. One that the parent closes without having recorded anything is
  // the child's to trace (a forking server's accept-fork-close), so the
  // parent writes no empty trace for it.
  void onForkParent() { fork_generation_.fetch_add(1, std::memory_order_relaxed); }
  // Whether a connection that ended since the last call began with a TLS
  // handshake record that no hooked TLS call claimed: TLS by a library the
  // shim does not hook, traced as ciphertext. Asked by the hooks after
  // connections end, outside every lock, to tell the user.
  bool takeUnhookedTls() {
    // Read first: every close asks, and only a set flag is worth a write.
    return unhooked_tls_seen_.load(std::memory_order_relaxed) &&
           unhooked_tls_seen_.exchange(false, std::memory_order_relaxed);
  }
  // In a forked child, before it runs on: new trace ids, and no state
  // shared with the parent (inherited sockets are adopted at first I/O).
  void onForkChild();
  // The process image is about to be replaced (exec): write every open
  // trace and forget the connections. Should exec fail, sockets still open
  // are adopted as new traces at their next I/O.
  void onExec();
  // The process is ending: write every open trace; record nothing after.
  void flushAll();

  const ProcessInfo& process() const { return process_; }

 private:
  using Origin = TappedConnection::Origin;
  using State = TappedConnection::State;

  // Fills a fresh connection and gives it the configured tapper; with
  // `state` kEstablished it is established at once.
  void startLocked(TappedConnection* connection, Origin origin, State state,
                   const ConnectionInfo& info, bool undecided = false);
  using Decision = MatchExpression::Decision;
  // Whether sockets of `kind` can be tapped at all under the configuration.
  bool isCandidate(SocketKind kind) const;
  // TAP_MATCH's decision for a connection.
  Decision decide(Origin origin, const ConnectionInfo& info, ConnectionFacts::Tls tls) const;
  // An undecided connection (the match depends on `tls`) is decided when
  // TLS is known, at its first data or at close: false when it is not to be
  // tapped (it is then kClosed and writes nothing). A provisional one keeps
  // or drops what its tapper held.
  bool settleLocked(TappedConnection* connection, ConnectionFacts::Tls tls);
  // At an undecided connection's data: decided by its first bytes (the
  // connection's looks_tls), or recorded provisionally (plaintext that
  // STARTTLS may turn into TLS) until TLS starts, the close, or the tapper
  // holding too much.
  bool settleOnDataLocked(TappedConnection* connection);
  // Marks a connection as carrying TLS and binds `session` to it.
  void bindTlsLocked(const void* session, TappedConnection* connection);
  // A connection of the session's own (its socket is unknown).
  TappedConnection* ownConnection(const void* session);
  // kConnecting -> kEstablished, telling the tapper.
  void establishLocked(TappedConnection* connection);
  TappedConnection* publish(int fd, Origin origin, State state, const ConnectionInfo& info,
                            bool undecided = false);
  // `moved`: the bytes of the call that adopts it (onData), by which an
  // attach tells a socket seen from its first byte from one that joined
  // late (Config::attached).
  TappedConnection* adopt(int fd, const TcpTotals* moved = nullptr);
  // Whether an adopted socket moved bytes before the call that adopts it.
  bool joinedLate(int fd, const TcpTotals* moved);
  // The origin an adopted socket gets: its parent process's, when this is
  // a forked child's copy of a connection the parent tapped.
  Origin inheritedOrigin(int fd, const ConnectionInfo& info) const;
  // Runs `work(connection)` under the connection's lock if `fd` is (or,
  // with `may_adopt`, becomes) a live tapped connection.
  template <typename Work>
  void withConnection(int fd, bool may_adopt, Work&& work) {
    withConnection(fd, may_adopt, nullptr, std::forward<Work>(work));
  }
  // The same, `moved` being the bytes of the call that may adopt the fd.
  template <typename Work>
  void withConnection(int fd, bool may_adopt, const TcpTotals* moved, Work&& work);
  // One fd stopped referring to `connection`; the last one ends it. `fd`
  // is still open (or -1 when it no longer names this socket).
  void detach(int fd, TappedConnection* connection);
  // A vfork child (no fork handler ran) shares the parent's memory but has
  // an fd table of its own: what it closes or duplicates is its own copy,
  // and must not change the parent's connections or files. A system call:
  // asked only when a tapped or sink fd is involved.
  bool inVforkChild() const;
  bool tapped(int fd) const;
  // Before a connection's trace ends: where the kernel counts more bytes
  // than hooked calls moved, the trace marks a gap in that direction.
  void markUnseenBytesLocked(int fd, TappedConnection* connection);
  // Ends the connections of fds [first, last], as closing them would.
  void detachRange(unsigned first, unsigned last);
  void purge(int fd);
  // Turns what onUnrecorded noted into gap events, and says why once.
  void markPendingGapsLocked(TappedConnection* connection);
  // Writes the trace if the connection was established; state -> kClosed.
  void finishLocked(int fd, TappedConnection* connection);

  ProcessInfo process_;
  bool match_all_ = true;
  // Built for an attach: adopted sockets joined late (Config::attached).
  bool attached_ = false;
  std::optional<MatchExpression> match_;
  TapperContext context_;
  // TAP_MAX_BUFFERED_TOTAL_BYTES, shared by every buffered tapper.
  BufferedBudget buffered_budget_;
  SocketProbe& probe_;
  TraceIds& ids_;
  FdTable table_;
  ConnectionPool pool_;
  TlsSessions tls_sessions_;
  std::atomic<bool> exiting_{false};
  std::atomic<bool> unhooked_tls_seen_{false};
  std::atomic<uint64_t> tls_epoch_{0};
  std::atomic<bool> started_any_{false};
  std::atomic<uint64_t> fork_generation_{0};
};

}  // namespace tapshim::core
