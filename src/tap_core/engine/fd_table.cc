#include "tap_core/engine/fd_table.h"

#include "tap_core/base/diagnostics.h"
#include "tap_core/base/os.h"

namespace tapshim::core {

TappedConnection* const FdTable::kNotTapped = reinterpret_cast<TappedConnection*>(uintptr_t{1});

FdTable::~FdTable() {
  // Only tests destroy a table (the shim's engines live until the process
  // ends); its chunks are left mapped, as they always were.
  if (Directory* directory = directory_.load(std::memory_order_acquire)) {
    os::unmap(directory, sizeof(Directory));
  }
}

FdTable::Slot* FdTable::chunkFor(int fd) {
  if (fd < 0) return nullptr;
  if (fd >= kMaxFd) {
    reportOnce(Problem::kFdOutOfRange, {"fds above 1048575 are not tapped"});
    return nullptr;
  }
  Directory* directory = directory_.load(std::memory_order_acquire);
  if (directory == nullptr) {
    // Zero, as fresh anonymous memory is: every chunk pointer is nullptr.
    auto* fresh = static_cast<Directory*>(os::mapAnonymous(sizeof(Directory)));
    if (fresh == nullptr) {
      reportOnce(Problem::kOutOfMemory,
                 {"out of memory for the fd table; some sockets are not tapped"});
      return nullptr;
    }
    if (directory_.compare_exchange_strong(directory, fresh, std::memory_order_acq_rel)) {
      directory = fresh;
    } else {
      os::unmap(fresh, sizeof(Directory));  // another thread won
    }
  }
  std::atomic<Slot*>& entry = directory->chunks[fd >> kChunkBits];
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
    Directory* directory = directory_.load(std::memory_order_acquire);
    if (directory == nullptr) return nullptr;
    Slot* chunk = directory->chunks[fd >> kChunkBits].load(std::memory_order_acquire);
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
  Directory* directory = directory_.load(std::memory_order_relaxed);
  if (directory == nullptr) return;
  for (int c = 0; c < kChunks; ++c) {
    Slot* chunk = directory->chunks[c].load(std::memory_order_relaxed);
    if (chunk == nullptr) continue;
    directory->inherited[c].store(chunk, std::memory_order_relaxed);
    directory->chunks[c].store(nullptr, std::memory_order_relaxed);
  }
}

const TappedConnection* FdTable::inheritedAt(int fd) const {
  if (fd < 0 || fd >= kMaxFd) return nullptr;
  const Directory* directory = directory_.load(std::memory_order_acquire);
  if (directory == nullptr) return nullptr;
  Slot* chunk = directory->inherited[fd >> kChunkBits].load(std::memory_order_acquire);
  if (chunk == nullptr) return nullptr;
  TappedConnection* value = chunk[fd & (kChunkSlots - 1)].load(std::memory_order_relaxed);
  return value == kNotTapped ? nullptr : value;
}

}  // namespace tapshim::core
