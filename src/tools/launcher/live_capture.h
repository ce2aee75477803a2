// tapshim -w FILE: the program runs with streaming on, into a private
// directory, while a follower (tap2pcap --follow) writes a live pcapng of
// its connections to FILE.
//
// Unlike a plain launch, which execs the program, the launcher forks and
// stays: it must end the follower after the program and remove the
// directory. What the program sees stays its own:
//   - stdin, stdout and stderr are inherited; the program stays in the
//     launcher's process group (the terminal's, for job control);
//   - Ctrl-C at the terminal reaches the program directly; the launcher
//     ignores it, and the follower (in its own group) goes on, so the
//     capture is not cut short;
//   - SIGTERM, SIGHUP, SIGINT and SIGQUIT sent to the launcher by a
//     process (kill) are passed on to the program; those the terminal sends
//     (the whole foreground group gets them) are not passed on again;
//   - the launcher exits with the program's exit status, or ends itself
//     with the signal that ended the program (without a core file).
#pragma once

#include <string>

#include "tools/launcher/launcher_options.h"
#include "tools/launcher/library_locator.h"

namespace tapshim::launcher {

// Checks -w's FILE before anything runs: its directory exists and it is not
// a directory. @return a one-line problem, or nothing.
std::optional<std::string> liveOutputProblem(const std::string& output);

// Runs options.command under `library` with a live capture to
// *options.live_output. @return the launcher's exit status (the program's,
// or 2 if the capture could not be set up); does not return when the
// program was ended by a signal.
int runLiveCapture(LauncherOptions options, const std::string& library,
                   const InstallLayout& layout);

}  // namespace tapshim::launcher
