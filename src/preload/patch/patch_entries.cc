#include "preload/patch/patch_entries.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include <cstdint>

#include "preload/patch/patch_executable.h"

namespace tapshim::preload::patch {
namespace {

// Marks this thread as inside the executable's copy for one call, and
// puts back what was there (a callback of the program's may nest calls).
class InExecutableCopy {
 public:
  InExecutableCopy() : saved_(t_in_executable_copy) { t_in_executable_copy = true; }
  ~InExecutableCopy() { t_in_executable_copy = saved_; }
  InExecutableCopy(const InExecutableCopy&) = delete;
  InExecutableCopy& operator=(const InExecutableCopy&) = delete;

 private:
  bool saved_;
};

}  // namespace
}  // namespace tapshim::preload::patch

// Every row of hooks.def gets an inline entry; only those kEntries names
// are emitted. The hooks are hooks.cc's, reached by their hidden aliases:
// the exported name would resolve to the executable's own definition.
#define TAP_LOCAL __attribute__((visibility("hidden")))
// clang-format off
#define TAP_HOOK(ret, name, params, args, before, after)                  \
  extern "C" TAP_LOCAL ret tapshim_hook_##name params;                          \
  namespace tapshim::preload::patch {                                     \
  inline ret name##FromExecutable params {                                \
    InExecutableCopy scope;                                               \
    return tapshim_hook_##name args;                                      \
  }                                                                       \
  }
#define TAP_HOOK_VOID(name, params, args, before)                         \
  extern "C" TAP_LOCAL void tapshim_hook_##name params;                          \
  namespace tapshim::preload::patch {                                     \
  inline void name##FromExecutable params {                               \
    InExecutableCopy scope;                                               \
    tapshim_hook_##name args;                                             \
  }                                                                       \
  }
#define TAP_HOOK_CUSTOM(ret, name, params)
#include "preload/hooks.def"
#undef TAP_HOOK
#undef TAP_HOOK_VOID
#undef TAP_HOOK_CUSTOM
// clang-format on

extern "C" TAP_LOCAL void tapshim_hook_SSL_CTX_set_keylog_callback(void* context, void* callback);

namespace tapshim::preload::patch {
namespace {

void SSL_CTX_set_keylog_callbackFromExecutable(void* context, void* callback) {
  InExecutableCopy scope;
  tapshim_hook_SSL_CTX_set_keylog_callback(context, callback);
}

}  // namespace

#define TAP_ENTRY(name) \
  { #name, reinterpret_cast < void*>(&name##FromExecutable) }
const Entry kEntries[] = {
    TAP_ENTRY(SSL_read),     TAP_ENTRY(SSL_write),      TAP_ENTRY(SSL_read_ex),
    TAP_ENTRY(SSL_write_ex), TAP_ENTRY(SSL_peek),       TAP_ENTRY(SSL_peek_ex),
    TAP_ENTRY(SSL_connect),  TAP_ENTRY(SSL_accept),     TAP_ENTRY(SSL_do_handshake),
    TAP_ENTRY(SSL_shutdown), TAP_ENTRY(SSL_set_fd),     TAP_ENTRY(SSL_set_rfd),
    TAP_ENTRY(SSL_set_wfd),  TAP_ENTRY(SSL_free),       TAP_ENTRY(BIO_write),
    TAP_ENTRY(SSL_CTX_new),  TAP_ENTRY(SSL_CTX_new_ex), TAP_ENTRY(SSL_CTX_set_keylog_callback),
};
#undef TAP_ENTRY
const size_t kEntryCount = sizeof(kEntries) / sizeof(kEntries[0]);

const char* const kHelpers[] = {"SSL_get_fd", "SSL_get_rbio", "SSL_get_SSL_CTX"};
const size_t kHelperCount = sizeof(kHelpers) / sizeof(kHelpers[0]);

}  // namespace tapshim::preload::patch
