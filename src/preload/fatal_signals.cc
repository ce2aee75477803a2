#include "preload/fatal_signals.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>

#include "preload/real_functions.h"
#include "preload/shim.h"
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
struct sigaction g_program_view[_NSIG];
std::atomic<bool> g_installed{false};

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

void install() {
  const struct sigaction shims = shimAction();
  for (int signal = 1; signal < _NSIG; ++signal) {
    if (!endsProcessByDefault(signal)) continue;
    struct sigaction current {};
    if (realSigaction(signal, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
    g_program_view[signal] = current;
    g_standing_in[signal].store(true, std::memory_order_relaxed);
    realSigaction(signal, &shims, nullptr);
  }
  g_installed.store(true, std::memory_order_release);
}

int sigaction(int signal, const struct sigaction* action, struct sigaction* old_action) {
  if (!g_installed.load(std::memory_order_acquire) || signal <= 0 || signal >= _NSIG ||
      !endsProcessByDefault(signal)) {
    return realSigaction(signal, action, old_action);
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
  if (!g_installed.load(std::memory_order_acquire) || handler == SIG_ERR || signal <= 0 ||
      signal >= _NSIG || !endsProcessByDefault(signal)) {
    return next(signal, handler);
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
