#include "preload/real_functions.h"

#include <dlfcn.h>

#include <atomic>

#include "tap_core/diagnostics.h"

namespace tapshim::preload::real {
namespace {

// Resolution is lazy, per symbol, never in the constructor: binding at load
// time has crashed debuggers and valgrind for other interposers.
void* resolve(const char* name) {
  void* next = dlsym(RTLD_NEXT, name);
  if (next == nullptr) {
    core::reportOnce(core::Problem::kMissingSymbol,
                     {"libc has no ", name, "; calls to it fail with ENOSYS"});
  }
  return next;
}

}  // namespace

#define TAP_REAL_ACCESSOR(name)                                    \
  name##_fn name() {                                               \
    static std::atomic<void*> cached{nullptr};                     \
    void* next = cached.load(std::memory_order_acquire);           \
    if (next == nullptr) {                                         \
      next = resolve(#name);                                       \
      cached.store(next, std::memory_order_release);               \
    }                                                              \
    return reinterpret_cast<name##_fn>(next);                      \
  }
#define TAP_HOOK(ret, name, params, args, before, after) TAP_REAL_ACCESSOR(name)
#define TAP_HOOK_VOID(name, params, args, before) TAP_REAL_ACCESSOR(name)
#define TAP_HOOK_CUSTOM(ret, name, params) TAP_REAL_ACCESSOR(name)
#include "preload/hooks.def"

}  // namespace tapshim::preload::real
