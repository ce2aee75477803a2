// tapshim-run's --command: one string, split into arguments as a POSIX
// shell splits a simple command, without running a shell. Wireshark's
// dialog has one text field for it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tapshim::extcap {

// Splits `text` at unquoted blanks. 'single quotes' keep everything;
// "double quotes" keep everything but \" \\ \$ \` and \<newline>, which
// lose the backslash; outside quotes a backslash keeps the next character.
// What a shell would do more is refused rather than done differently:
// unquoted | & ; < > ( ) (no pipeline or redirection is made), unquoted
// or double-quoted $ and ` (no expansion is made). *, ? and ~ stay as
// they are (no glob or home expansion).
// @return the words, or an error (one line, with the offset) for an
//         unterminated quote, a refused character or no word at all.
absl::StatusOr<std::vector<std::string>> splitShellWords(std::string_view text);

}  // namespace tapshim::extcap
