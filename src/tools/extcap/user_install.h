// tapshim-extcap --install-user: a symbolic link to this executable in the
// user's own extcap directory, for a Wireshark whose system extcap
// directory `meson install` could not write to or did not know.
// Wireshark 4.0 on Debian looks in ~/.local/lib/wireshark/extcap besides
// its system directory (its WIRESHARK_EXTCAP_DIR replaces the system one,
// and is ignored for root).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace tapshim::extcap {

// $HOME/.local/lib/wireshark/extcap (HOME, else the passwd entry's home).
absl::StatusOr<std::string> userExtcapDirectory();

// Creates the directory (0755, as Wireshark's own) if needed and links
// <directory>/tapshim-extcap to `self`. An existing link to an executable
// named tapshim-extcap (this one, or another build's) is replaced;
// anything else there is left alone and refused.
// @return a line saying what was done, or an error (one line).
absl::StatusOr<std::string> installUserLink(const std::string& directory, const std::string& self);

}  // namespace tapshim::extcap
