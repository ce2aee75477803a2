// Programs end by signals: Ctrl-C, `kill`, `timeout`, a closed terminal, a
// crash. Where the program leaves a signal whose default action ends the
// process at that default, the shim catches it, writes every buffered
// trace, and ends the process by the same signal (same wait status, core
// dump where the default dumps one). The program's view does not change:
// sigaction and signal report the default it left there, a handler it
// installs replaces the shim's, SIG_IGN stays SIG_IGN, masks and
// sigaltstack are untouched, and exec resets the shim's handler to the
// default, as it would the program's.
#pragma once

#include <signal.h>

namespace tapshim::preload::fatal_signals {

// Puts the shim's handler on every such signal still at its default.
// Called when the first connection is tapped, not at load: a process that
// taps nothing pays nothing (about fifty system calls). Once per process;
// safe while other threads change their handlers.
void install();
bool installed();
// In a forked child (pthread_atfork): the parent's other threads are gone.
void forgetAfterFork();

// The hooked sigaction: forwards, but a default the program sets becomes
// the shim's handler, and the shim's handler reads back as that default.
int sigaction(int signal, const struct sigaction* action, struct sigaction* old_action);
// The hooked signal(), with glibc's BSD semantics, on top of the above.
sighandler_t signal(int signal, sighandler_t handler);

// A fatal signal that arrived while this thread was inside the shim waits
// until the thread leaves the shim's locks: withEngine (shim.h) then calls
// endIfDeferred, which writes the traces and ends the process.
extern __thread int t_deferred __attribute__((tls_model("initial-exec")));
void endIfDeferred();

}  // namespace tapshim::preload::fatal_signals
