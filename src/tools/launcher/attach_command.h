// tapshim attach PID: taps a running process in standby for as long as the
// command runs (attach_options.h has the command line; attach_rendezvous.h
// the files it shares with the process).
//
// The steps, each refusing with one line:
//   1. the target: the caller's own process (or the caller is root), with
//      libtapshim.so loaded and started in standby (/proc/PID);
//   2. the rendezvous: the target user's private directory, a private
//      trace directory in it, and the request, locked while attached;
//   3. the answer: the process notices the request at its next hooked call
//      (at most 100 ms later) and says "attached" or why not; no answer in
//      5 s is a refusal;
//   4. the output: tapshim-view --follow (event lines on stdout) or
//      tap2pcap --follow -o FILE, run as a child on the trace directory;
//   5. the end (Ctrl-C, SIGTERM, --duration, the output ending): the
//      request is withdrawn, the process detaches at its next hooked call
//      and ends its traces, the output drains them, and every file of the
//      attach is removed. An attacher killed outright (SIGKILL) leaves its
//      lock to the kernel, which drops it: the process detaches all the
//      same, and the next attach replaces the stale request.
#pragma once

namespace tapshim::launcher {

struct InstallLayout;

// `argv[0]` is "attach". @return the exit status (attach_options.h).
int runAttach(int argc, const char* const* argv, const InstallLayout& layout);

}  // namespace tapshim::launcher
