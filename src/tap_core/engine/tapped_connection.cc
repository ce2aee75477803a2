#include "tap_core/engine/tapped_connection.h"

#include <new>

#include "tap_core/base/diagnostics.h"
#include "tap_core/base/os.h"

namespace tapshim::core {

TappedConnection* ConnectionPool::acquire() {
  LockGuard lock(mutex_);
  if (free_ == nullptr) {
    void* slab = os::mapAnonymous(kSlabBytes);
    if (slab == nullptr) {
      reportOnce(Problem::kOutOfMemory, {"out of memory for connections; some are not tapped"});
      return nullptr;
    }
    auto* objects = static_cast<TappedConnection*>(slab);
    const size_t count = kSlabBytes / sizeof(TappedConnection);
    for (size_t i = 0; i < count; ++i) {
      TappedConnection* object = new (&objects[i]) TappedConnection();
      object->next_free_ = free_;
      free_ = object;
    }
  }
  TappedConnection* connection = free_;
  free_ = connection->next_free_;
  connection->next_free_ = nullptr;
  return connection;
}

void TappedConnection::resetLocked() {
  buffered.reset();
  streamed.reset();
  info = ConnectionInfo{};
  fd_refs = 0;
  undecided = false;
  provisional = false;
  tls = false;
  tls_since = 0;
  inherited = false;
  looks_tls = false;
  ++incarnation;
  pending_gap[0].store(false);
  pending_gap[1].store(false);
  moved[0] = moved[1] = 0;
  gap_marked[0] = gap_marked[1] = false;
  state = State::kFree;
}

void ConnectionPool::release(TappedConnection* connection) {
  LockGuard lock(mutex_);
  connection->next_free_ = free_;
  free_ = connection;
}

void ConnectionPool::forgetAfterFork() {
  mutex_.reinitialize();
  free_ = nullptr;
}

}  // namespace tapshim::core
