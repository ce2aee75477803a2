// The exported hooks, generated from hooks.def: each resolves the next
// definition, calls it, and reports what happened. Nothing here formats,
// encodes or writes.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>

#include "preload/keylog.h"
#include "preload/real_functions.h"
#include "preload/report.h"
#include "preload/shim.h"

// The fortified entry points that _FORTIFY_SOURCE builds call instead of
// read, recv and recvfrom; glibc declares them only for fortified code.
extern "C" {
ssize_t __read_chk(int fd, void* buf, size_t count, size_t buflen);
ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags,
                       struct sockaddr* addr, socklen_t* addrlen);
}

namespace tapshim::preload {
namespace {

// A hooked function whose libc counterpart is missing fails as the kernel
// would for an unknown system call.
template <typename Result>
Result missingFunction() {
  errno = ENOSYS;
  if constexpr (std::is_pointer_v<Result>) {
    return nullptr;  // SSL_CTX_new's failure
  } else {
    return static_cast<Result>(-1);
  }
}

}  // namespace
}  // namespace tapshim::preload

#define TAP_NOTHING ((void)0)
#define TAP_EXPORT __attribute__((visibility("default")))

// The hook macros expand hooks.def's rows; their bodies stay laid out as
// the function each row becomes. A row's steps run when the process taps,
// even before an engine is built for it (a vfork child of a parent that
// made no hooked call yet: exec's step still says when the program it
// starts is static); without an engine the steps record nothing.
// clang-format off
#define TAP_HOOK(ret, name, params, args, before, after)                        \
  extern "C" TAP_EXPORT ret name params {                                       \
    using namespace tapshim::preload;                                           \
    const real::name##_fn next = real::name();                                  \
    if (next == nullptr) return missingFunction<ret>();                         \
    if (engine() == nullptr && !tappingConfigured()) return next args;          \
    report::CallState call;                                                     \
    {                                                                           \
      ErrnoKeeper keep;                                                         \
      before;                                                                   \
    }                                                                           \
    ret result = next args;                                                     \
    {                                                                           \
      ErrnoKeeper keep;                                                         \
      after;                                                                    \
    }                                                                           \
    return result;                                                              \
  }
#define TAP_HOOK_VOID(name, params, args, before) \
  extern "C" TAP_EXPORT void name params {        \
    using namespace tapshim::preload;             \
    const real::name##_fn next = real::name();    \
    if (next == nullptr) return;                  \
    if (engine() != nullptr || tappingConfigured()) { \
      ErrnoKeeper keep;                           \
      before;                                     \
    }                                             \
    next args;                                    \
  }
#define TAP_HOOK_CUSTOM(ret, name, params)
#include "preload/hooks.def"
// clang-format on

// The same hooks under hidden names, for the entries of an executable's
// own TLS functions (patch/patch_entries.cc): a call by the exported name
// would resolve to the executable's definition, the detoured one, first.
// clang-format off
#undef TAP_HOOK
#undef TAP_HOOK_VOID
#undef TAP_HOOK_CUSTOM
#define TAP_HOOK(ret, name, params, args, before, after) \
  extern "C" __attribute__((alias(#name), visibility("hidden"))) ret tapshim_hook_##name params;
#define TAP_HOOK_VOID(name, params, args, before) \
  extern "C" __attribute__((alias(#name), visibility("hidden"))) void tapshim_hook_##name params;
#define TAP_HOOK_CUSTOM(ret, name, params)
#include "preload/hooks.def"
// clang-format on
