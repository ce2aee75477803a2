// The next definition of every hooked function (libc's), found lazily with
// dlsym(RTLD_NEXT) on first use and cached. One accessor per hooks.def row:
// real::read() returns libc's read, or nullptr if there is none.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include <atomic>
#include <cstdint>

#include "preload/patch/patch_executable.h"

namespace tapshim::preload::real {

// The definition of `name` that the program would reach were the shim not
// there: the next object's (dlsym RTLD_NEXT), or, for a library the
// program loaded with RTLD_LOCAL (Python's _ssl brings libssl that way),
// that library's. nullptr when no loaded object defines it (yet).
void* findSymbol(const char* name);

// A function of a TLS library that the shim calls itself and never hooks
// (SSL_get_fd, PR_GetLayersIdentity), found with findSymbol on first use
// and cached; nullptr while no loaded object defines it. Constant-
// initialised, so a function-local static of it costs no guard. Inside a
// hook entered from the executable's own copy of the library, the
// executable's definition (patch/patch_executable.h).
template <typename Function>
class LibraryFunction {
 public:
  explicit constexpr LibraryFunction(const char* name) : name_(name) {}
  Function get() {
    if (patch::t_in_executable_copy) {
      return reinterpret_cast<Function>(patch::ownCopyOf(name_).address);
    }
    void* found = cached_.load(std::memory_order_acquire);
    if (found == nullptr) {
      found = findSymbol(name_);
      if (found != nullptr) cached_.store(found, std::memory_order_release);
    }
    return reinterpret_cast<Function>(found);
  }

 private:
  const char* name_;
  std::atomic<void*> cached_{nullptr};
};

// The hook macros expand hooks.def's rows; their bodies stay laid out as
// the function each row becomes.
// clang-format off
#define TAP_HOOK(ret, name, params, args, before, after) \
  using name##_fn = ret(*) params;                       \
  name##_fn name();
#define TAP_HOOK_VOID(name, params, args, before) \
  using name##_fn = void(*) params;               \
  name##_fn name();
#define TAP_HOOK_CUSTOM(ret, name, params) \
  using name##_fn = ret(*) params;         \
  name##_fn name();
#include "preload/hooks.def"
#undef TAP_HOOK
#undef TAP_HOOK_VOID
#undef TAP_HOOK_CUSTOM
// clang-format on

}  // namespace tapshim::preload::real
