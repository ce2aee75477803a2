#include "preload/real_functions.h"

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstring>

#include "preload/other_copies.h"
#include "tap_core/base/diagnostics.h"

namespace tapshim::preload::real {
namespace {

constexpr int kMaxObjects = 512;

struct LoadedObjects {
  const char* names[kMaxObjects];
  int count = 0;
};

// Every copy of this library is skipped, not only this one: another copy's
// hook would call this one's back.
int collectObject(dl_phdr_info* info, size_t, void* data) {
  auto* objects = static_cast<LoadedObjects*>(data);
  if (isTapshimCopy(*info)) return 0;
  if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0' && objects->count < kMaxObjects) {
    objects->names[objects->count++] = info->dlpi_name;
  }
  return 0;
}

// This library's own path, to skip it when searching.
const char* ownPath() {
  Dl_info self{};
  dladdr(reinterpret_cast<void*>(&ownPath), &self);
  return self.dli_fname;
}

void* findInLocalLibraries(const char* name) {
  LoadedObjects objects;
  dl_iterate_phdr(&collectObject, &objects);
  const char* own = ownPath();
  for (int i = 0; i < objects.count; ++i) {
    if (own != nullptr && std::strcmp(objects.names[i], own) == 0) continue;
    // RTLD_NOLOAD: only a library that is already there; never load one.
    void* handle = dlopen(objects.names[i], RTLD_LAZY | RTLD_NOLOAD);
    if (handle == nullptr) continue;
    void* symbol = dlsym(handle, name);
    dlclose(handle);
    if (symbol != nullptr) return symbol;
  }
  return nullptr;
}

// Resolution is lazy, per symbol, never in the constructor: binding at load
// time has crashed debuggers and valgrind for other interposers. A symbol
// not found yet (a TLS library not loaded) is looked for again next time.
void* resolve(const char* name) {
  void* next = findSymbol(name);
  if (next == nullptr) {
    core::reportOnce(
        core::Problem::kMissingSymbol,
        {"no definition of ", name, " after the shim's; calls to it fail with ENOSYS"});
  }
  return next;
}

// Stands, in an accessor's cache, for "the executable's copy has no such
// function": the usual definition is the real one.
char kNotListed;

}  // namespace

void* findSymbol(const char* name) {
  void* next = dlsym(RTLD_NEXT, name);
  if (next == nullptr) next = findInLocalLibraries(name);
  return next;
}

// The hook macros expand hooks.def's rows; their bodies stay laid out as
// the function each row becomes.
// clang-format off
// Inside a hook entered from the executable's own copy of a TLS library,
// that copy's function (its trampoline) is the real one.
#define TAP_REAL_ACCESSOR(name)                                    \
  name##_fn name() {                                               \
    if (patch::t_in_executable_copy) {                             \
      /* Constant-initialised, no guard (a guard would pull in */  \
      /* libstdc++'s exception runtime): set once patched. */      \
      static std::atomic<void*> own_copy{nullptr};                 \
      void* copy = own_copy.load(std::memory_order_acquire);       \
      if (copy == nullptr) {                                       \
        const patch::OwnCopy own = patch::ownCopyOf(#name);        \
        copy = own.listed ? own.address : &kNotListed;             \
        own_copy.store(copy, std::memory_order_release);           \
      }                                                            \
      if (copy != &kNotListed) return reinterpret_cast<name##_fn>(copy); \
    }                                                              \
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
// clang-format on

}  // namespace tapshim::preload::real
