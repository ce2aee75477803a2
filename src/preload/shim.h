// The process-wide state of the preload library: the tap engine (or none,
// when tapping is off), created once from the environment, and the guard
// that keeps a thread from entering the tap core twice.
#pragma once

#include <cerrno>
#include <utility>

#include "preload/fatal_signals.h"
#include "tap_core/base/os.h"
#include "tap_core/engine/tap_engine.h"

namespace tapshim::preload {

// The engine, or nullptr when the shim is inert (no TAP_PATH_PREFIX, a
// configuration error, a set-uid program) or in standby, unattached. The
// constructor reads the configuration (or the first hook, if one runs
// before it); the first hooked call of a tapping process builds the engine
// from it. In standby, calls look for an attach here.
core::TapEngine* engine();

// The engine if a hooked call has built it, else nullptr; neither builds
// it nor looks for an attach. For exit and exec: where no call was tapped,
// there is nothing to write.
core::TapEngine* engineIfBuilt();

// Whether this process taps: its engine is built, or will be at its next
// hooked call; in standby, while attached.
bool tappingConfigured();

// Standby's attach publishes its engine here, and withdraws it (nullptr)
// at the detach; engine() returns it from the next call on.
void publishEngine(core::TapEngine* engine);

// True while this thread runs tap-core code. A hook entered then (from a
// signal handler, say) must not take the core's locks again.
extern __thread bool t_inside_shim __attribute__((tls_model("initial-exec")));

// The TLS session whose call this thread is inside, and how deeply nested
// (SSL_read_ex may call SSL_read in some libraries): socket I/O while the
// depth is positive is the TLS library's, ciphertext.
extern __thread const void* t_tls_session __attribute__((tls_model("initial-exec")));
extern __thread int t_tls_depth __attribute__((tls_model("initial-exec")));

// Runs work(*active) unless `active` is nullptr or this thread is already
// inside the shim. Returns whether it ran.
template <typename Work>
bool withEngineAt(core::TapEngine* active, Work&& work) {
  if (active == nullptr || t_inside_shim) return false;
  t_inside_shim = true;
  work(*active);
  t_inside_shim = false;
  // Buffered traces now hold something a fatal signal would lose. Not from
  // a vfork child: it shares the parent's memory (the install's flags) but
  // not its signal handlers, so the parent would be left without them.
  if (!fatal_signals::installed() && active->startedAnyConnection() &&
      active->process().pid == core::os::processId()) {
    fatal_signals::install();
  }
  if (fatal_signals::t_deferred != 0) fatal_signals::endIfDeferred();
  return true;
}

// withEngineAt(engine(), work): tapping is off when engine() is nullptr.
template <typename Work>
bool withEngine(Work&& work) {
  return withEngineAt(engine(), std::forward<Work>(work));
}

// Keeps the host's errno across the shim's own work.
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }
  ErrnoKeeper(const ErrnoKeeper&) = delete;
  ErrnoKeeper& operator=(const ErrnoKeeper&) = delete;

 private:
  int saved_;
};

}  // namespace tapshim::preload
