// tap2pcap --follow: a live capture of traces while they are written. The
// trace reader's follower (trace_follower.h) hands on each whole record as
// soon as it is on disk; its events become packets through the same
// Conversation as a whole conversion (a connection's handshake with its
// first event, its FIN at its closed event, a buffered trace all at once),
// and every look at the files ends with a flush, so a reader of OUT
// (`tshark -i -`, `wireshark -k -i FIFO`) shows them at once. Packets keep
// the order in which their events reached the disk; each connection's
// times never go backwards. A connection still open at the end keeps no
// FIN: the capture ends as tcpdump's does, with the connection open.
//
// Ends at SIGINT, SIGTERM or SIGHUP, or after --duration: one last look at
// the files, whole blocks only, then OK. Also OK, quietly, when the reader
// of a pipe or FIFO goes away.
#pragma once

#include "absl/status/status.h"
#include "tools/tap2pcap/command_line.h"

namespace tapshim::tap2pcap {

// @return an error (one line) if the capture cannot be written or no input
//         can be followed; problems of single inputs are said on stderr as
//         they come, and the others go on.
absl::Status follow(const Options& options);

}  // namespace tapshim::tap2pcap
