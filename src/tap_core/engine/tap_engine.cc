#include "tap_core/engine/tap_engine.h"

#include "tap_core/base/block_allocator.h"
#include "tap_core/base/diagnostics.h"
#include "tap_core/base/load_time.h"
#include "tap_core/base/os.h"

namespace tapshim::core {

TAPSHIM_LOAD_TIME TapEngine::TapEngine(const Config& config, Clock& clock, Sink& sink,
                                       const TraceEncoder& encoder, SocketProbe& probe,
                                       TraceIds& ids)
    : buffered_budget_(config.max_buffered_total_bytes), probe_(probe), ids_(ids) {
  process_.pid = os::processId();
  os::processName(process_.name);
  context_.clock = &clock;
  context_.sink = &sink;
  context_.encoder = &encoder;
  context_.ids = &ids;
  context_.process = &process_;
  context_.max_buffered_rx_bytes = config.max_buffered_rx_bytes;
  context_.max_buffered_tx_bytes = config.max_buffered_tx_bytes;
  context_.buffered_budget = &buffered_budget_;
  context_.streaming = config.streaming;
  context_.min_streamed_sent_bytes = config.min_streamed_sent_bytes;
  context_.connection_per_event = config.connection_per_event;
  match_all_ = config.match_all;
  match_ = config.match;
  attached_ = config.attached;
}

bool TapEngine::isCandidate(SocketKind kind) const {
  if (!match_all_) return false;  // TAP_CONFIG's predicate said never
  if (kind == SocketKind::kTcp) return true;
  return kind == SocketKind::kUnixStream && match_.has_value() && match_->wantsUnix();
}

TapEngine::Decision TapEngine::decide(Origin origin, const ConnectionInfo& info,
                                      ConnectionFacts::Tls tls) const {
  if (!match_.has_value()) return Decision::kYes;
  ConnectionFacts facts;
  facts.origin = origin == Origin::kConnected  ? ConnectionFacts::Origin::kOutbound
                 : origin == Origin::kAccepted ? ConnectionFacts::Origin::kInbound
                                               : ConnectionFacts::Origin::kUnknown;
  facts.local = &info.local;
  facts.remote = &info.remote;
  if (info.local.kind == Address::Kind::kPipe || info.remote.kind == Address::Kind::kPipe) {
    facts.family = AF_UNIX;
  }
  facts.tls = tls;
  facts.process_name = process_.name;
  return match_->evaluate(facts);
}

bool TapEngine::settleLocked(TappedConnection* connection, ConnectionFacts::Tls tls) {
  if (!connection->undecided) return true;
  connection->undecided = false;
  const bool tapped = decide(connection->origin, connection->info, tls) == Decision::kYes;
  if (connection->provisional) {
    connection->provisional = false;
    if (tapped) {
      connection->tapper()->onConfirmed();
      return true;
    }
    connection->tapper()->onDiscarded();
  } else if (tapped) {
    establishLocked(connection);
    return true;
  }
  connection->state = State::kClosed;  // not tapped: nothing is ever written
  return false;
}

bool TapEngine::settleOnDataLocked(TappedConnection* connection) {
  if (!connection->undecided) return true;
  if (connection->provisional) {
    // Still plaintext: TLS has not started. Decided now only when holding
    // more would cost too much: as a connection without TLS.
    if (!connection->tapper()->provisionalFull()) return true;
    return settleLocked(connection, ConnectionFacts::Tls::kNo);
  }
  // Undecided connections are settled at their first data, which onData
  // has just sniffed.
  const ConnectionFacts::Tls sniffed =
      connection->looks_tls ? ConnectionFacts::Tls::kYes : ConnectionFacts::Tls::kNo;
  if (sniffed == ConnectionFacts::Tls::kNo &&
      decide(connection->origin, connection->info, ConnectionFacts::Tls::kNo) == Decision::kNo &&
      decide(connection->origin, connection->info, ConnectionFacts::Tls::kYes) == Decision::kYes) {
    // Plaintext first, and only TLS would make it match: STARTTLS may
    // follow. Record provisionally; TLS starting, or the close, decides.
    connection->provisional = true;
    connection->tapper()->onProvisional();
    connection->state = State::kEstablished;
    connection->tapper()->onEstablished(connection->info);
    return true;
  }
  return settleLocked(connection, sniffed);
}

// Before the TLS library's first call on a connection is seen, a
// connection is TLS when its first bytes are a TLS handshake record
// (content type 22, version 3.x): TLS in a program whose TLS library is not
// hooked (statically linked), or STARTTLS's plaintext part (not TLS).
static ConnectionFacts::Tls sniffTls(const IoSlices* data) {
  uint8_t head[3] = {0, 0, 0};
  const size_t got = data != nullptr ? data->copyPrefix(head, sizeof(head)) : 0;
  const bool tls = got == 3 && head[0] == 0x16 && head[1] == 0x03 && head[2] <= 0x04;
  return tls ? ConnectionFacts::Tls::kYes : ConnectionFacts::Tls::kNo;
}

void TapEngine::startLocked(TappedConnection* connection, Origin origin, State state,
                            const ConnectionInfo& info, bool undecided) {
  connection->origin = origin;
  connection->undecided = undecided;
  connection->state = State::kConnecting;
  connection->info = info;
  connection->info.origin = origin == Origin::kConnected  ? ConnectionInfo::Origin::kOutbound
                            : origin == Origin::kAccepted ? ConnectionInfo::Origin::kInbound
                                                          : ConnectionInfo::Origin::kUnknown;
  connection->fd_refs = 1;
  connection->fork_generation = fork_generation_.load(std::memory_order_relaxed);
  started_any_.store(true, std::memory_order_relaxed);
  if (context_.streaming) {
    connection->streamed.emplace(context_, ids_.next());
  } else {
    connection->buffered.emplace(context_, ids_.next());
  }
  if (state == State::kEstablished) establishLocked(connection);
}

void TapEngine::establishLocked(TappedConnection* connection) {
  // An undecided connection starts (a streamed first segment) only once
  // the match decides for it.
  if (connection->state != State::kConnecting || connection->undecided) return;
  connection->state = State::kEstablished;
  connection->tapper()->onEstablished(connection->info);
}

TappedConnection* TapEngine::publish(int fd, Origin origin, State state, const ConnectionInfo& info,
                                     bool undecided) {
  TappedConnection* connection = pool_.acquire();
  if (connection == nullptr) return nullptr;
  {
    LockGuard lock(connection->mutex);
    startLocked(connection, origin, state, info, undecided);
  }
  bool stored = false;
  TappedConnection* previous = table_.exchange(fd, connection, &stored);
  if (!stored) {
    LockGuard lock(connection->mutex);
    connection->resetLocked();
    pool_.release(connection);
    return nullptr;
  }
  if (previous != nullptr && previous != FdTable::kNotTapped) detach(-1, previous);
  return connection;
}

void TapEngine::purge(int fd) {
  TappedConnection* previous = table_.exchange(fd, nullptr);
  if (previous != nullptr && previous != FdTable::kNotTapped) detach(-1, previous);
}

void TapEngine::onSocketCreated(int fd) { purge(fd); }

void TapEngine::onConnect(int fd, const sockaddr* peer, socklen_t peer_length, bool completed) {
  if (exiting_.load(std::memory_order_relaxed)) return;
  TappedConnection* existing = table_.get(fd);
  if (existing != nullptr && existing != FdTable::kNotTapped) {
    // A repeated connect() on a non-blocking socket reports completion.
    LockGuard lock(existing->mutex);
    if (table_.get(fd) == existing && completed) establishLocked(existing);
    return;
  }
  if (!isCandidate(probe_.kind(fd))) {
    table_.exchange(fd, FdTable::kNotTapped);
    return;
  }
  ConnectionInfo info;
  info.remote = addressFromSockaddr(peer, peer_length);
  if (!info.remote.known()) info.remote = probe_.peerAddress(fd);
  info.local = probe_.localAddress(fd);
  const Decision decision = decide(Origin::kConnected, info, ConnectionFacts::Tls::kUnknown);
  if (decision == Decision::kNo) {
    table_.exchange(fd, FdTable::kNotTapped);
    return;
  }
  publish(fd, Origin::kConnected, completed ? State::kEstablished : State::kConnecting, info,
          decision == Decision::kUndecided);
}

void TapEngine::onAccepted(int fd) {
  if (exiting_.load(std::memory_order_relaxed)) return;
  purge(fd);
  if (!isCandidate(probe_.kind(fd))) {
    table_.exchange(fd, FdTable::kNotTapped);
    return;
  }
  ConnectionInfo info;
  info.local = probe_.localAddress(fd);
  info.remote = probe_.peerAddress(fd);
  const Decision decision = decide(Origin::kAccepted, info, ConnectionFacts::Tls::kUnknown);
  if (decision == Decision::kNo) {
    table_.exchange(fd, FdTable::kNotTapped);
    return;
  }
  publish(fd, Origin::kAccepted, State::kEstablished, info, decision == Decision::kUndecided);
}

TapEngine::Origin TapEngine::inheritedOrigin(int fd, const ConnectionInfo& info) const {
  // In a forked child, the parent's record of the same socket (the same
  // addresses on the same fd) says which side opened it: a forking
  // server's child carries an accepted connection on.
  const TappedConnection* parent = table_.inheritedAt(fd);
  if (parent == nullptr || !parent->info.local.sameAs(info.local) ||
      !parent->info.remote.sameAs(info.remote)) {
    return Origin::kAdopted;
  }
  return parent->origin;
}

bool TapEngine::joinedLate(int fd, const TcpTotals* moved) {
  // The kernel's counts of what the program moved before this call: none
  // (one byte of slack for an active opener's SYN) means a connection
  // whose accept or connect was under way at the attach, seen whole.
  TcpTotals totals;
  if (moved == nullptr || !probe_.tcpTotals(fd, /*active_open=*/false, *moved, &totals)) {
    return true;
  }
  return totals.sent > moved->sent + totals.slack + 1 ||
         totals.received > moved->received + totals.slack;
}

TappedConnection* TapEngine::adopt(int fd, const TcpTotals* moved) {
  // A socket the program did not create through a hooked call (inherited
  // across fork or exec, passed over a unix socket, socket activation).
  if (exiting_.load(std::memory_order_relaxed)) return nullptr;
  // (Only TCP: an adopted unix socket's peer is usually unnamed, which
  // cannot be told from "not connected".)
  if (!isCandidate(SocketKind::kTcp) || !probe_.isTcp(fd)) {
    table_.compareAndSet(fd, nullptr, FdTable::kNotTapped);
    return nullptr;
  }
  ConnectionInfo info;
  info.remote = probe_.peerAddress(fd);
  if (!info.remote.known()) return nullptr;  // not connected: nothing to adopt yet
  info.local = probe_.localAddress(fd);
  const Origin origin = inheritedOrigin(fd, info);
  const Decision decision = decide(origin, info, ConnectionFacts::Tls::kUnknown);
  if (decision == Decision::kNo) {
    table_.compareAndSet(fd, nullptr, FdTable::kNotTapped);
    return nullptr;
  }
  TappedConnection* connection = pool_.acquire();
  if (connection == nullptr) return nullptr;
  {
    LockGuard lock(connection->mutex);
    startLocked(connection, origin, State::kConnecting, info, decision == Decision::kUndecided);
    connection->inherited = origin != Origin::kAdopted;
    // Tapping began (an attach) with the socket already open: what went
    // before is not in the trace, so the reader draws no handshake.
    connection->info.joined_late = attached_ && origin == Origin::kAdopted && joinedLate(fd, moved);
  }
  if (table_.compareAndSet(fd, nullptr, connection)) {
    // Established only once published: a loser of the race below must not
    // have written a streamed first segment.
    LockGuard lock(connection->mutex);
    if (table_.get(fd) == connection) establishLocked(connection);
    return connection;
  }
  // Another thread adopted it first.
  {
    LockGuard lock(connection->mutex);
    connection->resetLocked();
  }
  pool_.release(connection);
  TappedConnection* winner = table_.get(fd);
  return winner == FdTable::kNotTapped ? nullptr : winner;
}

template <typename Work>
void TapEngine::withConnection(int fd, bool may_adopt, const TcpTotals* moved, Work&& work) {
  TappedConnection* connection = table_.get(fd);
  if (connection == FdTable::kNotTapped) return;
  if (connection == nullptr) {
    if (!may_adopt) return;
    connection = adopt(fd, moved);
    if (connection == nullptr) return;
  }
  LockGuard lock(connection->mutex);
  // The fd may have been closed (and the object reused) since the lookup.
  if (table_.get(fd) != connection) return;
  if (connection->state == State::kFree || connection->state == State::kClosed) return;
  work(connection);
}

void TapEngine::onData(int fd, Direction direction, const IoSlices& data, uint64_t epoch_before) {
  TcpTotals this_call;
  (direction == Direction::kRead ? this_call.received : this_call.sent) = data.total();
  withConnection(fd, /*may_adopt=*/true, &this_call, [&](TappedConnection* connection) {
    if (connection->moved[0] == 0 && connection->moved[1] == 0) {
      connection->looks_tls = sniffTls(&data) == ConnectionFacts::Tls::kYes;
    }
    connection->moved[static_cast<size_t>(direction)] += data.total();
    // Once TLS runs on a connection, what its socket carries is TLS
    // records, whoever reads them (GnuTLS reads a session ticket inside
    // gnutls_session_get_data2, for one): only the TLS hooks' plaintext
    // is recorded. A write that began before TLS did (slapd answers
    // StartTLS on one thread while another starts the handshake) is not
    // TLS.
    const bool began_before_tls =
        direction == Direction::kWrite && connection->tls_since > epoch_before;
    if (connection->tls && !began_before_tls) return;
    if (!settleOnDataLocked(connection)) return;
    // Data moved, so a pending non-blocking connect has succeeded.
    establishLocked(connection);
    markPendingGapsLocked(connection);
    PerSocketTapper* tapper = connection->tapper();
    if (direction == Direction::kRead) {
      tapper->onRead(data);
    } else {
      tapper->onWrite(data);
    }
  });
}

void TapEngine::onUnseen(int fd, Direction direction) {
  withConnection(fd, /*may_adopt=*/true, [&](TappedConnection* connection) {
    if (connection->tls) return;
    connection->gap_marked[static_cast<size_t>(direction)] = true;
    if (!connection->provisional && !settleLocked(connection, ConnectionFacts::Tls::kNo)) return;
    establishLocked(connection);
    connection->tapper()->onGap(direction);
  });
}

void TapEngine::onUnrecorded(int fd, Direction direction) {
  TappedConnection* connection = table_.get(fd);
  if (connection == nullptr || connection == FdTable::kNotTapped) return;
  connection->pending_gap[static_cast<size_t>(direction)].store(true);
}

void TapEngine::markPendingGapsLocked(TappedConnection* connection) {
  for (Direction gap : {Direction::kRead, Direction::kWrite}) {
    if (!connection->pending_gap[static_cast<size_t>(gap)].exchange(false)) continue;
    connection->gap_marked[static_cast<size_t>(gap)] = true;
    connection->tapper()->onGap(gap);
    // Said here, with its cause: left to the trace's end, the kernel's
    // counts would find the bytes and blame io_uring or raw system calls.
    reportOnce(Problem::kReentered,
               {"socket I/O from a signal handler that interrupted tapshim on its thread is "
                "not recorded: its trace marks a gap"});
  }
}

void TapEngine::bindTlsLocked(const void* session, TappedConnection* connection) {
  if (!connection->tls) {
    connection->tapper()->onTlsStarted();
    connection->tls_since = tls_epoch_.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  connection->tls = true;
  TlsSessions::Binding current;
  if (tls_sessions_.find(session, &current) && current.connection == connection &&
      current.incarnation == connection->incarnation) {
    return;
  }
  if (current.owned && current.connection != nullptr) {
    // Plaintext went to a trace of its own before the socket was known:
    // that trace ends here, the rest goes to the socket's.
    TappedConnection* owned = current.connection;
    tls_sessions_.remove(session, &current);
    {
      LockGuard lock(owned->mutex);
      finishLocked(-1, owned);
      owned->resetLocked();
    }
    pool_.release(owned);
  }
  TlsSessions::Binding binding;
  binding.connection = connection;
  binding.incarnation = connection->incarnation;
  tls_sessions_.bind(session, binding);
}

void TapEngine::onTlsSocketIo(const void* session, int fd) {
  if (table_.get(fd) == FdTable::kNotTapped) {
    TlsSessions::Binding known;
    if (!tls_sessions_.find(session, &known)) {
      TlsSessions::Binding excluded;
      excluded.excluded = true;
      tls_sessions_.bind(session, excluded);
    }
    return;
  }
  withConnection(fd, /*may_adopt=*/true, [&](TappedConnection* connection) {
    if (!settleLocked(connection, ConnectionFacts::Tls::kYes)) return;
    establishLocked(connection);
    bindTlsLocked(session, connection);
  });
}

void TapEngine::onTlsBind(const void* session, int fd) {
  // Binding alone does not settle a match: no TLS has run yet.
  withConnection(fd, /*may_adopt=*/true,
                 [&](TappedConnection* connection) { bindTlsLocked(session, connection); });
}

TappedConnection* TapEngine::ownConnection(const void* session) {
  if (exiting_.load(std::memory_order_relaxed) || !isCandidate(SocketKind::kTcp)) return nullptr;
  const ConnectionInfo unknown;
  if (decide(Origin::kAdopted, unknown, ConnectionFacts::Tls::kYes) != Decision::kYes)
    return nullptr;
  TappedConnection* connection = pool_.acquire();
  if (connection == nullptr) return nullptr;
  {
    LockGuard lock(connection->mutex);
    startLocked(connection, Origin::kAdopted, State::kEstablished, unknown);
    connection->tls = true;
  }
  TlsSessions::Binding binding;
  binding.connection = connection;
  binding.incarnation = connection->incarnation;
  binding.owned = true;
  if (!tls_sessions_.bind(session, binding)) {
    LockGuard lock(connection->mutex);
    connection->resetLocked();
    pool_.release(connection);
    return nullptr;
  }
  return connection;
}

void TapEngine::onTlsBioFed(const void* bio, int fd) {
  withConnection(fd, /*may_adopt=*/true, [&](TappedConnection* connection) {
    if (!settleLocked(connection, ConnectionFacts::Tls::kYes)) return;
    establishLocked(connection);
    bindTlsLocked(bio, connection);
  });
}

void TapEngine::onTlsSocketReadConsumed(const void* session, int fd) {
  TlsSessions::Binding binding;
  if (tls_sessions_.find(session, &binding) && !binding.owned && binding.connection != nullptr) {
    LockGuard lock(binding.connection->mutex);
    const State state = binding.connection->state;
    if (binding.connection->incarnation == binding.incarnation && state != State::kFree &&
        state != State::kClosed) {
      return;  // bound, and its connection lives on
    }
  }
  withConnection(fd, /*may_adopt=*/true, [&](TappedConnection* connection) {
    // TLS already (another session's), or not TLS-looking: not this one's.
    if (connection->tls || !connection->looks_tls) return;
    if (!settleLocked(connection, ConnectionFacts::Tls::kYes)) return;
    establishLocked(connection);
    bindTlsLocked(session, connection);
  });
}

void TapEngine::onTlsData(const void* session, Direction direction, const IoSlices& data,
                          int (*session_fd)(const void* session),
                          const void* (*session_read_bio)(const void* session)) {
  TlsSessions::Binding binding;
  bool known = tls_sessions_.find(session, &binding);
  if (binding.excluded) return;
  if (!known && session_fd != nullptr) {
    const int fd = session_fd(session);
    if (fd >= 0) onTlsBind(session, fd);
    known = tls_sessions_.find(session, &binding);
  }
  if ((!known || binding.owned) && session_read_bio != nullptr) {
    // A memory BIO fed from a socket: the BIO's binding is the session's.
    TlsSessions::Binding through_bio;
    if (tls_sessions_.find(session_read_bio(session), &through_bio) &&
        through_bio.connection != nullptr) {
      if (binding.owned) onTlsSessionEnd(session);  // what came before stays in its own trace
      tls_sessions_.bind(session, through_bio);
      binding = through_bio;
    }
  }
  if (binding.connection == nullptr) {
    if (ownConnection(session) == nullptr) return;
    tls_sessions_.find(session, &binding);
  }
  TappedConnection* connection = binding.connection;
  if (connection == nullptr) return;
  LockGuard lock(connection->mutex);
  if (connection->incarnation != binding.incarnation || connection->state == State::kFree ||
      connection->state == State::kClosed) {
    return;
  }
  if (!settleLocked(connection, ConnectionFacts::Tls::kYes)) return;
  establishLocked(connection);
  connection->tls = true;
  if (direction == Direction::kRead) {
    connection->tapper()->onRead(data);
  } else {
    connection->tapper()->onWrite(data);
  }
}

void TapEngine::onTlsSessionEnd(const void* session) {
  TlsSessions::Binding binding;
  if (!tls_sessions_.remove(session, &binding) || !binding.owned) return;
  TappedConnection* connection = binding.connection;
  {
    LockGuard lock(connection->mutex);
    if (connection->incarnation != binding.incarnation) return;
    finishLocked(-1, connection);
    connection->resetLocked();
  }
  pool_.release(connection);
}

void TapEngine::onShutdown(int fd, int how) {
  if (how == SHUT_RD) return;
  withConnection(fd, /*may_adopt=*/false,
                 [](TappedConnection* connection) { connection->tapper()->onHalfClose(); });
}

void TapEngine::onDuplicated(int old_fd, int new_fd) {
  if (old_fd == new_fd) return;
  if ((tapped(old_fd) || tapped(new_fd)) && inVforkChild()) return;
  purge(new_fd);  // dup2/dup3 closed whatever new_fd was
  TappedConnection* source = table_.get(old_fd);
  if (source == nullptr) return;
  if (source == FdTable::kNotTapped) {
    table_.exchange(new_fd, FdTable::kNotTapped);
    return;
  }
  {
    LockGuard lock(source->mutex);
    if (table_.get(old_fd) != source || source->state == State::kFree) return;
    ++source->fd_refs;
  }
  bool stored = false;
  TappedConnection* previous = table_.exchange(new_fd, source, &stored);
  if (!stored) {
    detach(-1, source);  // give the reference back
    return;
  }
  if (previous != nullptr && previous != FdTable::kNotTapped) detach(-1, previous);
}

bool TapEngine::inVforkChild() const { return os::processId() != process_.pid; }

bool TapEngine::tapped(int fd) const {
  TappedConnection* connection = table_.get(fd);
  return connection != nullptr && connection != FdTable::kNotTapped;
}

void TapEngine::onReplacing(int old_fd, int new_fd) {
  if (old_fd == new_fd || new_fd < 0) return;
  const unsigned fd = static_cast<unsigned>(new_fd);
  if (context_.sink->keepsAnyOf(fd, fd) && !inVforkChild()) context_.sink->programClosing(fd, fd);
}

void TapEngine::onClose(int fd) {
  const bool sink_fd =
      fd >= 0 && context_.sink->keepsAnyOf(static_cast<unsigned>(fd), static_cast<unsigned>(fd));
  // Only what matters pays for asking whether this is a vfork child.
  if ((sink_fd || tapped(fd)) && inVforkChild()) return;
  if (sink_fd) context_.sink->programClosing(static_cast<unsigned>(fd), static_cast<unsigned>(fd));
  TappedConnection* previous = table_.exchange(fd, nullptr);
  if (previous != nullptr && previous != FdTable::kNotTapped) detach(fd, previous);
}

void TapEngine::onCloseRange(unsigned first, unsigned last) {
  if (inVforkChild()) return;
  context_.sink->programClosing(first, last);
  detachRange(first, last);
}

void TapEngine::detachRange(unsigned first, unsigned last) {
  table_.clearRange(first, last,
                    [this](int fd, TappedConnection* connection) { detach(fd, connection); });
}

void TapEngine::finishLocked(int fd, TappedConnection* connection) {
  // A tapped connection that began as TLS no hooked call claimed (one the
  // match left out is not the user's concern).
  if (connection->looks_tls && !connection->tls && connection->state == State::kEstablished) {
    connection->info.undecrypted_tls = true;
    unhooked_tls_seen_.store(true, std::memory_order_relaxed);
  }
  // Provisional to the end: TLS never started, so the match decides so.
  if (connection->provisional && !settleLocked(connection, ConnectionFacts::Tls::kNo)) return;
  if (connection->state == State::kConnecting && fd >= 0 && probe_.peerAddress(fd).known()) {
    // Connected, and carried no data (so no TLS either).
    if (!settleLocked(connection, ConnectionFacts::Tls::kNo)) return;
    establishLocked(connection);
  }
  if (connection->state == State::kEstablished) {
    // A signal handler's I/O the connection saw no later data after.
    if (!connection->tls) markPendingGapsLocked(connection);
    if (connection->fork_generation != fork_generation_.load(std::memory_order_relaxed)) {
      connection->tapper()->onHandedOver(connection->info);
    } else {
      if (fd >= 0) markUnseenBytesLocked(fd, connection);
      connection->tapper()->onClose(connection->info);
    }
  }
  connection->state = State::kClosed;
}

void TapEngine::markUnseenBytesLocked(int fd, TappedConnection* connection) {
  // Only a TCP connection seen from its first byte, in one process, whose
  // socket bytes are its trace's (not TLS records), can be held against
  // the kernel's counts.
  if (connection->tls || connection->origin == Origin::kAdopted || connection->inherited ||
      connection->info.remote.kind != Address::Kind::kIp) {
    return;
  }
  TcpTotals moved;
  moved.sent = connection->moved[static_cast<size_t>(Direction::kWrite)];
  moved.received = connection->moved[static_cast<size_t>(Direction::kRead)];
  TcpTotals totals;
  if (!probe_.tcpTotals(fd, connection->origin == Origin::kConnected, moved, &totals)) return;
  const uint64_t kernel[2] = {totals.received, totals.sent};
  static_assert(static_cast<size_t>(Direction::kRead) == 0 &&
                static_cast<size_t>(Direction::kWrite) == 1);
  for (Direction direction : {Direction::kRead, Direction::kWrite}) {
    const size_t i = static_cast<size_t>(direction);
    if (connection->gap_marked[i] || kernel[i] <= connection->moved[i] + totals.slack) continue;
    // io_uring, a raw system call, another process holding the socket: the
    // trace cannot say where the bytes were, only that some are missing.
    connection->gap_marked[i] = true;
    connection->tapper()->onGap(direction);
    reportOnce(Problem::kUnseenBytes,
               {"bytes moved on a tapped connection without a hooked call (io_uring? raw "
                "system calls?): its trace marks a gap"});
  }
}

void TapEngine::detach(int fd, TappedConnection* connection) {
  {
    LockGuard lock(connection->mutex);
    if (connection->state == State::kFree) return;
    if (--connection->fd_refs > 0) return;
    finishLocked(fd, connection);
    connection->resetLocked();
  }
  pool_.release(connection);
}

void TapEngine::onForkChild() {
  table_.forgetAfterFork();
  tls_sessions_.forgetAfterFork();
  pool_.forgetAfterFork();
  BlockAllocator::instance().forgetAfterFork();
  buffered_budget_.forgetAfterFork();
  ids_.reseed();
  process_.pid = os::processId();
}

void TapEngine::onExec() {
  // The sink's files are close-on-exec; should exec fail they are still
  // its own, so they are not given up here.
  detachRange(0, FdTable::kMaxFd - 1);
}

void TapEngine::flushAll() {
  exiting_.store(true);
  tls_sessions_.drain([this](const TlsSessions::Binding& binding) {
    if (!binding.owned) return;
    LockGuard lock(binding.connection->mutex);
    if (binding.connection->incarnation != binding.incarnation) return;
    if (binding.connection->state == State::kEstablished) finishLocked(-1, binding.connection);
  });
  table_.forEachConnection(0, FdTable::kMaxFd - 1, [this](int fd, TappedConnection* connection) {
    LockGuard lock(connection->mutex);
    if (table_.get(fd) != connection) return;
    if (connection->state == State::kConnecting || connection->state == State::kEstablished) {
      finishLocked(fd, connection);
    }
  });
}

}  // namespace tapshim::core
