// Runs an interface's child process (capture_command.h) for as long as
// Wireshark captures, and ends it cleanly.
//
// Wireshark stops an extcap with SIGTERM, or by closing its end of the FIFO
// (dumpcap gone); either way the child gets SIGTERM, so that the capture
// ends with whole blocks (tap2pcap drains, the launcher ends its program
// and then its follower). A child still running 15 s later is killed with
// its process group.
//
// Wireshark reports anything an extcap writes on stderr as the capture's
// error. So, for tapshim-run, the program's own stdout and stderr go to
// --program-output (or nowhere), and only the lines that start "tapshim"
// or "tap2pcap" (the launcher's, the shim's inside the program, the
// follower's) are passed on to Wireshark; for tapshim-attach, every line
// but the attach's "attached to" news.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tapshim::extcap {

struct SupervisedCapture {
  std::vector<std::string> argv;
  // Pass on only tapshim's lines, send the rest (and stdout) to
  // program_output:
  bool sort_output = false;
  std::optional<std::string> program_output;  // a file, appended to; else discarded
  std::string fifo;                           // watched for its reader going away
  std::string what;                           // the child, in messages
};

// @return the tool's exit status: 0 when the child ended well or was
//         stopped; 1 (with one line on stderr) when it could not be run or
//         ended badly of its own accord.
int superviseCapture(const SupervisedCapture& capture);

}  // namespace tapshim::extcap
