// The follower of a live capture: `tap2pcap --follow INPUT -o OUTPUT`, run
// as a child process that turns streamed traces into pcapng as they grow.
// Shared by `tapshim -w` and `tapshim attach -w`.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace tapshim::launcher {

// Starts the follower in a process group of its own, so that a Ctrl-C at
// the terminal (which goes to the foreground group) does not cut the
// capture short: the caller ends it with SIGTERM (stopFollower) once the
// traced program is done, and the follower drains what is on disk first.
// It gets SIGTERM too if the caller dies. Its stdin and stdout are
// /dev/null (the program's are its own); its stderr is the caller's, for
// its one-line errors. It runs without LD_PRELOAD and TAP_* variables:
// the follower is never tapped. It starts with SIGINT, SIGTERM and SIGHUP
// blocked, which tap2pcap --follow takes from a signalfd: one sent early
// waits for it.
// @return its pid, or an error (one line) if fork failed. A follower that
//         cannot be executed exits 127.
absl::StatusOr<pid_t> startFollower(const std::string& tap2pcap, const std::string& input,
                                    const std::string& output);

// Sends the follower SIGTERM and waits for it, at most `grace_seconds`,
// after which its process group is killed (SIGKILL). Signals other than
// SIGCHLD stay as they are; the caller may have SIGCHLD blocked.
// @return its wait status, and whether it had to be killed.
struct FollowerEnd {
  int status = 0;
  bool killed = false;
};
FollowerEnd stopFollower(pid_t follower, int grace_seconds);

// For a FIFO `output` the follower has not opened yet (it does once a
// reader has): waits until it has (or has ended, or `seconds` have
// passed), so that a program that ends before Wireshark is up still has
// its capture read. @return a write end held
// open until the follower is done, so that the reader sees the FIFO's end
// only after the follower's last block; -1 if there is no reader or
// `output` is not a FIFO.
int waitForFifoReader(const std::string& output, pid_t follower, int seconds);

// "exit status 1", "signal 9 (Killed)": a wait status for a message.
std::string describeWaitStatus(int status);

}  // namespace tapshim::launcher
