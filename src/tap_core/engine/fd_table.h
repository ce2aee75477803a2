// fd -> tapped connection, read without locks on every hooked call.
//
// Two levels: an array of chunk pointers, and chunks of 1024 slots mapped
// on first use. The array of chunk pointers (16 KiB, with the inherited
// ones) is mapped too, when a slot is first set: a process that never
// taps a socket (the shells and tools a preload-everywhere setup starts by
// the thousand) makes no system call and touches no page for it, at start
// or at exit; in a VM a first touch costs more than the rest of the
// library's start-up. Nothing is touched in proportion to the fd space,
// and an fd the program never used costs no memory.
#pragma once

#include <atomic>
#include <cstdint>

namespace tapshim::core {

class TappedConnection;

class FdTable {
 public:
  static constexpr int kChunkBits = 10;
  static constexpr int kChunkSlots = 1 << kChunkBits;
  static constexpr int kChunks = 1024;
  // fds at or above this are never tapped (the shim says so once).
  static constexpr int kMaxFd = kChunks * kChunkSlots;

  // A slot value meaning "this fd was looked at and is not tapped".
  static TappedConnection* const kNotTapped;

  FdTable() = default;
  ~FdTable();
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;

  // The slot's value: nullptr (never seen), kNotTapped, or a connection.
  TappedConnection* get(int fd) const {
    if (fd < 0 || fd >= kMaxFd) return kNotTapped;
    const Directory* directory = directory_.load(std::memory_order_acquire);
    if (directory == nullptr) return nullptr;
    Slot* chunk = directory->chunks[fd >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) return nullptr;
    return chunk[fd & (kChunkSlots - 1)].load(std::memory_order_acquire);
  }

  // Replaces the slot's value and returns the old one. False from
  // `stored` when the fd is out of range or memory is short.
  TappedConnection* exchange(int fd, TappedConnection* value, bool* stored = nullptr);
  // Sets the slot if it still holds `expected`.
  bool compareAndSet(int fd, TappedConnection* expected, TappedConnection* value);

  // Calls visit(fd, connection) for every slot in [first, last] holding a
  // connection (not kNotTapped).
  template <typename Visitor>
  void forEachConnection(unsigned first, unsigned last, Visitor&& visit) const {
    if (first >= static_cast<unsigned>(kMaxFd)) return;
    if (last >= static_cast<unsigned>(kMaxFd)) last = kMaxFd - 1;
    const Directory* directory = directory_.load(std::memory_order_acquire);
    if (directory == nullptr) return;
    for (unsigned c = first >> kChunkBits; c <= (last >> kChunkBits); ++c) {
      Slot* chunk = directory->chunks[c].load(std::memory_order_acquire);
      if (chunk == nullptr) continue;
      for (unsigned s = 0; s < static_cast<unsigned>(kChunkSlots); ++s) {
        const unsigned fd = (c << kChunkBits) | s;
        if (fd < first || fd > last) continue;
        TappedConnection* value = chunk[s].load(std::memory_order_acquire);
        if (value != nullptr && value != kNotTapped) visit(static_cast<int>(fd), value);
      }
    }
  }

  // Empties every slot in [first, last] (close_range, closefrom) and calls
  // visit(fd, connection) for each connection taken out.
  template <typename Visitor>
  void clearRange(unsigned first, unsigned last, Visitor&& visit) {
    if (first >= static_cast<unsigned>(kMaxFd)) return;
    if (last >= static_cast<unsigned>(kMaxFd)) last = kMaxFd - 1;
    const Directory* directory = directory_.load(std::memory_order_acquire);
    if (directory == nullptr) return;
    for (unsigned c = first >> kChunkBits; c <= (last >> kChunkBits); ++c) {
      Slot* chunk = directory->chunks[c].load(std::memory_order_acquire);
      if (chunk == nullptr) continue;
      for (unsigned s = 0; s < static_cast<unsigned>(kChunkSlots); ++s) {
        const unsigned fd = (c << kChunkBits) | s;
        if (fd < first || fd > last) continue;
        if (chunk[s].load(std::memory_order_relaxed) == nullptr) continue;
        TappedConnection* value = chunk[s].exchange(nullptr, std::memory_order_acq_rel);
        if (value != nullptr && value != kNotTapped) visit(static_cast<int>(fd), value);
      }
    }
  }

  // In a forked child: forget every slot without touching the parent's
  // connections (another thread may have held their locks). What the
  // slots held stays readable through inheritedAt().
  void forgetAfterFork();

  // In a forked child: the connection the parent's slot for `fd` held at
  // the fork, or nullptr. It is the child's copy of the parent's object,
  // which nothing in the child locks, changes or reuses: its origin and
  // addresses may be read without its lock. (After a second fork, a chunk
  // of slots the child never used keeps the grandparent's.)
  const TappedConnection* inheritedAt(int fd) const;

 private:
  using Slot = std::atomic<TappedConnection*>;
  struct Directory {
    std::atomic<Slot*> chunks[kChunks];
    std::atomic<Slot*> inherited[kChunks];
  };
  // The chunk for `fd`, mapping it (and the directory) when needed;
  // nullptr when the fd is out of range or memory is short.
  Slot* chunkFor(int fd);
  // nullptr until a slot is first set: until then every slot reads as
  // never seen.
  std::atomic<Directory*> directory_{nullptr};
};

}  // namespace tapshim::core
