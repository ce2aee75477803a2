#include "preload/startup_arena.h"

#include <cstdint>

#include "tap_core/base/load_time.h"

namespace tapshim::preload::startup_arena {
namespace {

// Zero-initialised: mapped with the library, and a page of it becomes
// memory only when something is written there. The count of bytes served
// is on the arena's first page, with the first of them: start-up touches
// one page for both.
struct Arena {
  size_t used;
  alignas(16) unsigned char bytes[kBytes];
};
TAPSHIM_LARGE_TABLE Arena g_arena;
__thread bool t_in_scope __attribute__((tls_model("initial-exec"))) = false;

}  // namespace

TAPSHIM_LOAD_TIME Scope::Scope() { t_in_scope = true; }
TAPSHIM_LOAD_TIME Scope::~Scope() { t_in_scope = false; }

TAPSHIM_LOAD_TIME void* allocate(size_t size) {
  if (!t_in_scope) return nullptr;
  const size_t rounded = (size + 15) & ~size_t{15};
  if (rounded < size || rounded > kBytes - g_arena.used) return nullptr;
  void* memory = g_arena.bytes + g_arena.used;
  g_arena.used += rounded;
  return memory;
}

TAPSHIM_LOAD_TIME bool owns(const void* memory) {
  const auto address = reinterpret_cast<uintptr_t>(memory);
  const auto start = reinterpret_cast<uintptr_t>(g_arena.bytes);
  return address >= start && address - start < kBytes;
}

size_t used() { return g_arena.used; }

}  // namespace tapshim::preload::startup_arena
