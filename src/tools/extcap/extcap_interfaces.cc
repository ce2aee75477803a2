#include "tools/extcap/extcap_interfaces.h"

#include "absl/strings/str_cat.h"

namespace tapshim::extcap {
namespace {

// Wireshark keeps each argument as the preference
// extcap.<interface, '-' as '_'>.<call without dashes>, e.g.
// extcap.tapshim_run.command, which tshark -o sets.
constexpr char kRunArguments[] =
    "arg {number=0}{call=--command}{display=Command}{type=string}{required=true}"
    "{tooltip=The program and its arguments, split as a shell would split them (no shell is run; "
    "use sh -c '...' for pipelines)}\n"
    "arg {number=1}{call=--program-output}{display=Program output file}{type=fileselect}"
    "{mustexist=false}{tooltip=Where the program's stdout and stderr go (default: discarded); "
    "tapshim's own lines go to Wireshark}\n";

// --match and the byte limits, numbered from `first`.
std::string matchAndLimits(int first) {
  return absl::StrCat(
      "arg {number=", first, "}{call=--match}{display=Match}{type=string}",
      "{tooltip=Which connections to tap, tcpdump style: port 443 and not net 10.0.0.0/8 ",
      "(a capture filter narrows it further)}\n", "arg {number=", first + 1,
      "}{call=--max-rx-bytes}{display=Bytes kept per read}",
      "{type=string}{validation=^[0-9]*$}{tooltip=Bytes of each read kept (empty: all of it with "
      "tapshim-run)}\n",
      "arg {number=", first + 2, "}{call=--max-tx-bytes}{display=Bytes kept per write}",
      "{type=string}{validation=^[0-9]*$}{tooltip=Bytes of each write kept (empty: all of it with "
      "tapshim-run)}\n");
}

}  // namespace

bool interfaceNamed(std::string_view name, Interface* interface) {
  if (name == "tapshim-run") {
    *interface = Interface::kRun;
  } else if (name == "tapshim-follow") {
    *interface = Interface::kFollow;
  } else if (name == "tapshim-attach") {
    *interface = Interface::kAttach;
  } else {
    return false;
  }
  return true;
}

bool takesMatch(Interface interface) { return interface != Interface::kFollow; }

std::string interfacesText(const std::string& version) {
  return absl::StrCat(
      "extcap {version=", version, "}{display=tapshim: TLS plaintext of programs, live}\n",
      "interface {value=tapshim-run}{display=tapshim: run a program and capture its connections}\n",
      "interface {value=tapshim-follow}{display=tapshim: follow a directory of streamed traces}\n",
      "interface {value=tapshim-attach}{display=tapshim: attach to a running process}\n");
}

std::string dltsText(Interface) { return "dlt {number=1}{name=EN10MB}{display=Ethernet}\n"; }

std::string configText(Interface interface) {
  switch (interface) {
    case Interface::kRun:
      return absl::StrCat(kRunArguments, matchAndLimits(2));
    case Interface::kFollow:
      return "arg {number=0}{call=--directory}{display=Trace directory}{type=string}"
             "{required=true}{tooltip=A directory a program streams its traces into "
             "(tapshim -o DIR/trace --streaming); every trace that appears in it is shown}\n";
    case Interface::kAttach:
      return absl::StrCat(
          "arg {number=0}{call=--pid}{display=Process ID}{type=unsigned}{required=true}"
          "{tooltip=A process started in standby (tapshim --standby, TAP_STANDBY=1)}\n",
          matchAndLimits(1));
  }
  return "";
}

}  // namespace tapshim::extcap
