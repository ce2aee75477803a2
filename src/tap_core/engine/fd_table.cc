#include "tap_core/engine/fd_table.h"

#include <new>

#include "tap_core/base/diagnostics.h"
#include "tap_core/base/os.h"

namespace tapshim::core {

TappedConnection* const FdTable::kNotTapped = reinterpret_cast<TappedConnection*>(uintptr_t{1});

namespace {
constexpr size_t kPointerBytes = 2 * FdTable::kChunks * sizeof(void*);
}  // namespace

FdTable::FdTable() {
  // Fresh anonymous memory is zero: every chunk pointer starts as nullptr.
  void* mapped = os::mapAnonymous(kPointerBytes);
  mapped_ = mapped != nullptr;
  chunks_ = mapped_ ? static_cast<std::atomic<Slot*>*>(mapped)
                    : new std::atomic<Slot*>[2 * kChunks]();  // zeroed, touched
  inherited_ = chunks_ + kChunks;
}

FdTable::~FdTable() {
  if (mapped_) {
    os::unmap(chunks_, kPointerBytes);
  } else {
    delete[] chunks_;
  }
}

FdTable::Slot* FdTable::chunkFor(int fd) {
  if (fd < 0) return nullptr;
  if (fd >= kMaxFd) {
    reportOnce(Problem::kFdOutOfRange, {"fds above 1048575 are not tapped"});
    return nullptr;
  }
  std::atomic<Slot*>& entry = chunks_[fd >> kChunkBits];
  Slot* chunk = entry.load(std::memory_order_acquire);
  if (chunk != nullptr) return chunk;
  // Fresh anonymous memory is zero: every slot starts as nullptr.
  auto* fresh = static_cast<Slot*>(os::mapAnonymous(sizeof(Slot) * kChunkSlots));
  if (fresh == nullptr) {
    reportOnce(Problem::kOutOfMemory,
               {"out of memory for the fd table; some sockets are not tapped"});
    return nullptr;
  }
  if (entry.compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) return fresh;
  os::unmap(fresh, sizeof(Slot) * kChunkSlots);  // another thread won
  return chunk;
}

TappedConnection* FdTable::exchange(int fd, TappedConnection* value, bool* stored) {
  if (stored != nullptr) *stored = false;
  if (value == nullptr) {
    // Clearing never needs a chunk.
    if (fd < 0 || fd >= kMaxFd) return nullptr;
    Slot* chunk = chunks_[fd >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) return nullptr;
    if (stored != nullptr) *stored = true;
    return chunk[fd & (kChunkSlots - 1)].exchange(nullptr, std::memory_order_acq_rel);
  }
  Slot* chunk = chunkFor(fd);
  if (chunk == nullptr) return nullptr;
  if (stored != nullptr) *stored = true;
  return chunk[fd & (kChunkSlots - 1)].exchange(value, std::memory_order_acq_rel);
}

bool FdTable::compareAndSet(int fd, TappedConnection* expected, TappedConnection* value) {
  Slot* chunk = chunkFor(fd);
  if (chunk == nullptr) return false;
  return chunk[fd & (kChunkSlots - 1)].compare_exchange_strong(expected, value,
                                                               std::memory_order_acq_rel);
}

void FdTable::forgetAfterFork() {
  for (int c = 0; c < kChunks; ++c) {
    Slot* chunk = chunks_[c].load(std::memory_order_relaxed);
    if (chunk == nullptr) continue;
    inherited_[c].store(chunk, std::memory_order_relaxed);
    chunks_[c].store(nullptr, std::memory_order_relaxed);
  }
}

const TappedConnection* FdTable::inheritedAt(int fd) const {
  if (fd < 0 || fd >= kMaxFd) return nullptr;
  Slot* chunk = inherited_[fd >> kChunkBits].load(std::memory_order_acquire);
  if (chunk == nullptr) return nullptr;
  TappedConnection* value = chunk[fd & (kChunkSlots - 1)].load(std::memory_order_relaxed);
  return value == kNotTapped ? nullptr : value;
}

}  // namespace tapshim::core
