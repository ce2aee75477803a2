// Memory for what the shim builds while it starts (its configuration, the
// engine, standby's copy of the environment), from the library's own
// zero-initialised data rather than the program's malloc.
//
// Why: the first malloc of a process sets the allocator up (a getrandom,
// two brk, the heap's first pages), about 100 us in a VM. A program that
// never allocates (a shell's /bin/true) would pay it only because the shim
// was preloaded. Pages of the arena that are never written cost nothing.
//
// Only the thread inside a Scope allocates from it, and one Scope is open
// at a time: the shim's initialisation at load, then the engine's build at
// the first hooked call (which waits for the initialisation; other threads
// wait for the build). The build may run in a signal handler that
// interrupted malloc: the arena takes no lock. What it serves is never
// given back (the shim's start-up objects live until the process ends);
// freeing it is a no-op. When it is full (a TAP_CONFIG far larger than any
// seen), operator new falls back to malloc.
#pragma once

#include <cstddef>

namespace tapshim::preload::startup_arena {

constexpr size_t kBytes = 128 * 1024;

// While alive, this thread's operator new is served from the arena.
class Scope {
 public:
  Scope();
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
};

// Memory from the arena, 16-byte aligned, when this thread is inside a
// Scope and there is room; nullptr otherwise.
void* allocate(size_t size);

// Whether `memory` came from the arena (operator delete leaves it alone).
bool owns(const void* memory);

// Bytes served so far (for its unit test).
size_t used();

}  // namespace tapshim::preload::startup_arena
