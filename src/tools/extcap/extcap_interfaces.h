// What tapshim-extcap tells Wireshark about itself, in the extcap
// protocol's sentences (Wireshark's doc/extcap.adoc): its interfaces, their
// link type and the arguments each takes in the capture dialog.
//
//   tapshim-run     runs a program under tapshim -w   (--command)
//   tapshim-follow  follows a directory of traces     (--directory)
//   tapshim-attach  attaches to a running process     (--pid)
//
// tapshim-run and tapshim-attach also take --match and the byte limits of
// the launcher; tapshim-follow reads traces already written, which they
// no longer shape.
#pragma once

#include <string>
#include <string_view>

namespace tapshim::extcap {

enum class Interface { kRun, kFollow, kAttach };

// The interface named `name` (exactly, as Wireshark passes it back).
// @return false for any other name.
bool interfaceNamed(std::string_view name, Interface* interface);

// Whether the interface's captures can be narrowed by --match and the
// capture filter (the connections are tapped by this capture).
bool takesMatch(Interface interface);

// --extcap-interfaces: the "extcap {version=...}" line, then one
// "interface {value=...}{display=...}" line per interface.
std::string interfacesText(const std::string& version);

// --extcap-dlts: one "dlt" line. tap2pcap writes Ethernet frames.
std::string dltsText(Interface interface);

// --extcap-config: the "arg" lines of the interface's dialog.
std::string configText(Interface interface);

}  // namespace tapshim::extcap
