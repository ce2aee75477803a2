#include "tap_core/tap_engine.h"

#include "tap_core/block_allocator.h"
#include "tap_core/os.h"

namespace tapshim::core {

TapEngine::TapEngine(const Config& config, Clock& clock, Sink& sink, const TraceEncoder& encoder,
                     SocketProbe& probe, TraceIds& ids)
    : probe_(probe), ids_(ids) {
  process_.pid = os::processId();
  os::processName(process_.name);
  context_.clock = &clock;
  context_.sink = &sink;
  context_.encoder = &encoder;
  context_.ids = &ids;
  context_.process = &process_;
  context_.max_buffered_rx_bytes = config.max_buffered_rx_bytes;
  context_.max_buffered_tx_bytes = config.max_buffered_tx_bytes;
}

TappedConnection* TapEngine::publish(int fd, Origin origin, State state,
                                     const ConnectionInfo& info) {
  TappedConnection* connection = pool_.acquire();
  if (connection == nullptr) return nullptr;
  {
    LockGuard lock(connection->mutex);
    connection->origin = origin;
    connection->state = state;
    connection->info = info;
    connection->fd_refs = 1;
    connection->fork_generation = fork_generation_.load(std::memory_order_relaxed);
    connection->buffered.emplace(context_, ids_.next());
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
    if (table_.get(fd) == existing && completed && existing->state == State::kConnecting) {
      existing->state = State::kEstablished;
    }
    return;
  }
  if (!probe_.isTcp(fd)) {
    table_.exchange(fd, FdTable::kNotTapped);
    return;
  }
  ConnectionInfo info;
  info.remote = addressFromSockaddr(peer, peer_length);
  if (!info.remote.known()) info.remote = probe_.peerAddress(fd);
  info.local = probe_.localAddress(fd);
  publish(fd, Origin::kConnected, completed ? State::kEstablished : State::kConnecting, info);
}

void TapEngine::onAccepted(int fd) {
  if (exiting_.load(std::memory_order_relaxed)) return;
  purge(fd);
  if (!probe_.isTcp(fd)) {
    table_.exchange(fd, FdTable::kNotTapped);
    return;
  }
  ConnectionInfo info;
  info.local = probe_.localAddress(fd);
  info.remote = probe_.peerAddress(fd);
  publish(fd, Origin::kAccepted, State::kEstablished, info);
}

TappedConnection* TapEngine::adopt(int fd) {
  // A socket the program did not create through a hooked call (inherited
  // across fork or exec, passed over a unix socket, socket activation).
  if (exiting_.load(std::memory_order_relaxed)) return nullptr;
  if (!probe_.isTcp(fd)) {
    table_.compareAndSet(fd, nullptr, FdTable::kNotTapped);
    return nullptr;
  }
  ConnectionInfo info;
  info.remote = probe_.peerAddress(fd);
  if (!info.remote.known()) return nullptr;  // not connected: nothing to adopt yet
  info.local = probe_.localAddress(fd);
  TappedConnection* connection = pool_.acquire();
  if (connection == nullptr) return nullptr;
  {
    LockGuard lock(connection->mutex);
    connection->origin = Origin::kAdopted;
    connection->state = State::kEstablished;
    connection->info = info;
    connection->fd_refs = 1;
    connection->fork_generation = fork_generation_.load(std::memory_order_relaxed);
    connection->buffered.emplace(context_, ids_.next());
  }
  if (table_.compareAndSet(fd, nullptr, connection)) return connection;
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
void TapEngine::withConnection(int fd, bool may_adopt, Work&& work) {
  TappedConnection* connection = table_.get(fd);
  if (connection == FdTable::kNotTapped) return;
  if (connection == nullptr) {
    if (!may_adopt) return;
    connection = adopt(fd);
    if (connection == nullptr) return;
  }
  LockGuard lock(connection->mutex);
  // The fd may have been closed (and the object reused) since the lookup.
  if (table_.get(fd) != connection) return;
  if (connection->state == State::kFree || connection->state == State::kClosed) return;
  work(connection);
}

void TapEngine::onData(int fd, Direction direction, const IoSlices& data) {
  withConnection(fd, /*may_adopt=*/true, [&](TappedConnection* connection) {
    // Data moved, so a pending non-blocking connect has succeeded.
    connection->state = State::kEstablished;
    PerSocketTapper* tapper = connection->tapper();
    for (Direction gap : {Direction::kRead, Direction::kWrite}) {
      if (connection->pending_gap[static_cast<size_t>(gap)].exchange(false)) tapper->onGap(gap);
    }
    if (direction == Direction::kRead) {
      tapper->onRead(data);
    } else {
      tapper->onWrite(data);
    }
  });
}

void TapEngine::onUnseen(int fd, Direction direction) {
  withConnection(fd, /*may_adopt=*/true, [&](TappedConnection* connection) {
    connection->state = State::kEstablished;
    connection->tapper()->onGap(direction);
  });
}

void TapEngine::onUnrecorded(int fd, Direction direction) {
  TappedConnection* connection = table_.get(fd);
  if (connection == nullptr || connection == FdTable::kNotTapped) return;
  connection->pending_gap[static_cast<size_t>(direction)].store(true);
}

void TapEngine::onShutdown(int fd, int how) {
  if (how == SHUT_RD) return;
  withConnection(fd, /*may_adopt=*/false,
                 [](TappedConnection* connection) { connection->tapper()->onHalfClose(); });
}

void TapEngine::onDuplicated(int old_fd, int new_fd) {
  if (old_fd == new_fd) return;
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

void TapEngine::onClose(int fd) {
  TappedConnection* previous = table_.exchange(fd, nullptr);
  if (previous != nullptr && previous != FdTable::kNotTapped) detach(fd, previous);
}

void TapEngine::onCloseRange(unsigned first, unsigned last) {
  table_.clearRange(first, last,
                    [this](int fd, TappedConnection* connection) { detach(fd, connection); });
}

void TapEngine::finishLocked(int fd, TappedConnection* connection) {
  if (connection->state == State::kConnecting && fd >= 0 && probe_.peerAddress(fd).known()) {
    connection->state = State::kEstablished;  // connected, and carried no data
  }
  if (connection->state == State::kEstablished) {
    if (connection->fork_generation != fork_generation_.load(std::memory_order_relaxed)) {
      connection->tapper()->onHandedOver(connection->info);
    } else {
      connection->tapper()->onClose(connection->info);
    }
  }
  connection->state = State::kClosed;
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
  pool_.forgetAfterFork();
  BlockAllocator::instance().forgetAfterFork();
  ids_.reseed();
  process_.pid = os::processId();
}

void TapEngine::onExec() { onCloseRange(0, FdTable::kMaxFd - 1); }

void TapEngine::flushAll() {
  exiting_.store(true);
  table_.forEachConnection(0, FdTable::kMaxFd - 1, [this](int fd, TappedConnection* connection) {
    LockGuard lock(connection->mutex);
    if (table_.get(fd) != connection) return;
    if (connection->state == State::kConnecting || connection->state == State::kEstablished) {
      finishLocked(fd, connection);
    }
  });
}

}  // namespace tapshim::core
