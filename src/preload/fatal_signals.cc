#include "preload/fatal_signals.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>

#include "preload/real_functions.h"
#include "preload/shim.h"
#include "tap_core/base/load_time.h"
#include "tap_core/base/os.h"

namespace tapshim::preload::fatal_signals {

__thread int t_deferred = 0;

namespace {

// signal(7)'s "Term" and "Core" signals, but SIGKILL and SIGSTOP (nobody
// can catch them) and SIGTRAP (breakpoints: debuggers and runtimes use it).
bool endsProcessByDefault(int signal) {
  switch (signal) {
    case SIGHUP:
    case SIGINT:
    case SIGQUIT:
    case SIGILL:
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGUSR1:
    case SIGSEGV:
    case SIGUSR2:
    case SIGPIPE:
    case SIGALRM:
    case SIGTERM:
    case SIGSTKFLT:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGVTALRM:
    case SIGPROF:
    case SIGIO:
    case SIGPWR:
    case SIGSYS:
      return true;
    default:
      return signal >= SIGRTMIN && signal <= SIGRTMAX;
  }
}

// Per signal: whether the shim's handler stands in for the default the
// program left, and what the program set (or found) there, returned to it
// whenever it asks.
std::atomic<bool> g_standing_in[_NSIG];
TAPSHIM_LARGE_TABLE struct sigaction g_program_view[_NSIG];
std::atomic<bool> g_installed{false};
// The install happens when tapping starts, in a program whose threads may
// be changing their own handlers at that moment. A hooked sigaction or
// signal() counts itself in flight while it forwards; the install claims
// the table, waits for those in flight to leave the kernel, and any that
// come meanwhile wait for the install to end (WhileInstalling below).
std::atomic<bool> g_claimed{false};
std::atomic<bool> g_installing{false};
std::atomic<int> g_in_flight{0};

// Forwards one of the program's calls before the install, unless an
// install is under way: then returns false once it is over, and the call
// takes the installed path.
template <typename Forward>
bool forwardedBeforeInstall(Forward&& forward) {
  if (g_installed.load(std::memory_order_acquire)) return false;
  g_in_flight.fetch_add(1);
  if (!g_installing.load()) {
    forward();
    g_in_flight.fetch_sub(1);
    return true;
  }
  g_in_flight.fetch_sub(1);
  while (!g_installed.load(std::memory_order_acquire)) sched_yield();
  return false;
}

// 0: nobody writes the traces yet; 1: a thread is writing them; 2: done.
std::atomic<int> g_flush_state{0};

void onSignal(int signal, siginfo_t* info, void* context);

struct sigaction shimAction() {
  struct sigaction action {};
  action.sa_sigaction = &onSignal;
  // SA_ONSTACK: a program that set up an alternate stack gets its stack
  // overflows handled there; SA_RESTART: the shim's own system calls that a
  // deferred signal interrupts carry on.
  action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  return action;
}

bool isShims(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) != 0 && action.sa_sigaction == &onSignal;
}

int realSigaction(int signal, const struct sigaction* action, struct sigaction* old_action) {
  const real::sigaction_fn next = real::sigaction();
  if (next == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return next(signal, action, old_action);
}

// A fault the kernel raised for the instruction that runs (si_code > 0):
// returning from the handler runs it again, now under the default action,
// so the core dump shows where the program was. (A SIGSEGV sent with kill
// has si_code <= 0 and is sent again instead.)
bool isFault(int signal, const siginfo_t* info) {
  const bool synchronous = signal == SIGSEGV || signal == SIGBUS || signal == SIGILL ||
                           signal == SIGFPE || signal == SIGSYS;
  return synchronous && info != nullptr && info->si_code > 0;
}

void restoreDefault(int signal) {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  realSigaction(signal, &action, nullptr);
  g_standing_in[signal].store(false, std::memory_order_relaxed);
}

// Writes every buffered trace, once per process. A thread whose fatal
// signal comes while another writes them waits for it (bounded), so that
// the process does not end half-way through.
void writeTracesOnce() {
  int expected = 0;
  if (!g_flush_state.compare_exchange_strong(expected, 1)) {
    for (int waited_ms = 0; waited_ms < 5000 && g_flush_state.load() != 2; ++waited_ms) {
      const timespec millisecond{0, 1000 * 1000};
      nanosleep(&millisecond, nullptr);
    }
    return;
  }
  withEngine([](core::TapEngine& active) {
    // A vfork child shares its parent's memory: the traces are the parent's.
    if (active.process().pid == core::os::processId()) active.flushAll();
  });
  g_flush_state.store(2);
}

// The signal's default action, now: sent again to this thread and
// unblocked (a handler runs with its signal blocked).
void endBy(int signal) {
  restoreDefault(signal);
  raise(signal);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signal);
  pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
}

void onSignal(int signal, siginfo_t* info, void*) {
  const int saved_errno = errno;
  if (t_inside_shim) {
    if (signal == SIGXFSZ) {
      // The shim's own trace write passed RLIMIT_FSIZE: that write fails
      // with EFBIG and the trace says it was cut; the program is not
      // concerned.
      errno = saved_errno;
      return;
    }
    if (isFault(signal, info)) {
      restoreDefault(signal);  // a fault of the shim's: end as the default would
    } else {
      t_deferred = signal;  // ended when this thread leaves the shim's locks
    }
    errno = saved_errno;
    return;
  }
  writeTracesOnce();
  if (isFault(signal, info)) {
    restoreDefault(signal);
  } else {
    endBy(signal);
  }
  errno = saved_errno;  // the program put a handler there meanwhile, and it ran
}

}  // namespace

bool installed() { return g_installed.load(std::memory_order_acquire); }

void forgetAfterFork() {
  // The child has one thread: nobody is in flight, and an install its
  // parent had under way is this thread's to finish.
  g_in_flight.store(0);
  if (!g_installed.load()) {
    g_installing.store(false);
    g_claimed.store(false);
  }
}

void install() {
  bool expected = false;
  if (!g_claimed.compare_exchange_strong(expected, true)) return;  // another thread installs
  // No signal handler of the program runs on this thread meanwhile: one
  // that called sigaction would wait for this very install.
  sigset_t everything, previous;
  sigfillset(&everything);
  pthread_sigmask(SIG_SETMASK, &everything, &previous);
  g_installing.store(true);
  while (g_in_flight.load() != 0) sched_yield();  // a program's sigaction still in the kernel
  const struct sigaction shims = shimAction();
  for (int signal = 1; signal < _NSIG; ++signal) {
    if (!endsProcessByDefault(signal)) continue;
    // One system call per signal: the shim's handler goes in, and what it
    // replaced comes back; a handler or SIG_IGN found there is put back.
    struct sigaction found {};
    if (realSigaction(signal, &shims, &found) != 0) continue;
    if (isShims(found)) continue;  // a forked child finishing its parent's install
    if (found.sa_handler != SIG_DFL) {
      realSigaction(signal, &found, nullptr);
      continue;
    }
    g_program_view[signal] = found;
    g_standing_in[signal].store(true, std::memory_order_relaxed);
  }
  g_installed.store(true, std::memory_order_release);
  g_installing.store(false);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

int sigaction(int signal, const struct sigaction* action, struct sigaction* old_action) {
  if (signal <= 0 || signal >= _NSIG || !endsProcessByDefault(signal)) {
    return realSigaction(signal, action, old_action);
  }
  int result = 0;
  int saved_errno = 0;
  if (forwardedBeforeInstall([&] {
        result = realSigaction(signal, action, old_action);
        saved_errno = errno;
      })) {
    errno = saved_errno;
    return result;
  }
  const bool was_standing_in = g_standing_in[signal].load(std::memory_order_relaxed);
  if (action != nullptr && action->sa_handler == SIG_DFL) {
    const struct sigaction wanted = *action;  // action and old_action may be one object
    const struct sigaction shims = shimAction();
    struct sigaction replaced {};
    if (realSigaction(signal, &shims, &replaced) != 0) return -1;
    if (old_action != nullptr) *old_action = isShims(replaced) ? g_program_view[signal] : replaced;
    g_program_view[signal] = wanted;
    g_standing_in[signal].store(true, std::memory_order_relaxed);
    return 0;
  }
  const struct sigaction view = g_program_view[signal];
  if (realSigaction(signal, action, old_action) != 0) return -1;
  if (old_action != nullptr && isShims(*old_action)) *old_action = view;
  if (action != nullptr && was_standing_in) {
    g_standing_in[signal].store(false, std::memory_order_relaxed);
  }
  return 0;
}

sighandler_t signal(int signal, sighandler_t handler) {
  const real::signal_fn next = real::signal();
  if (next == nullptr) {
    errno = ENOSYS;
    return SIG_ERR;
  }
  if (handler == SIG_ERR || signal <= 0 || signal >= _NSIG || !endsProcessByDefault(signal)) {
    return next(signal, handler);
  }
  sighandler_t forwarded = SIG_ERR;
  int saved_errno = 0;
  if (forwardedBeforeInstall([&] {
        forwarded = next(signal, handler);
        saved_errno = errno;
      })) {
    errno = saved_errno;
    return forwarded;
  }
  if (handler != SIG_DFL) {
    // glibc's own signal() (it honours siginterrupt); only the answer is
    // the program's view when the shim stood in.
    const struct sigaction view = g_program_view[signal];
    const sighandler_t old = next(signal, handler);
    if (old == SIG_ERR) return old;
    g_standing_in[signal].store(false, std::memory_order_relaxed);
    return old == reinterpret_cast<sighandler_t>(&onSignal) ? view.sa_handler : old;
  }
  // The default: the shim's handler stands in, as through sigaction, with
  // the flags glibc's signal() gives.
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, signal);
  action.sa_flags = SA_RESTART;
  struct sigaction old_action {};
  if (fatal_signals::sigaction(signal, &action, &old_action) != 0) return SIG_ERR;
  return old_action.sa_handler;
}

void endIfDeferred() {
  const int signal = t_deferred;
  t_deferred = 0;
  if (signal == 0 || !g_standing_in[signal].load(std::memory_order_relaxed)) return;
  writeTracesOnce();
  endBy(signal);
}

}  // namespace tapshim::preload::fatal_signals
