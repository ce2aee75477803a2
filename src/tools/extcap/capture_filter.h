// Wireshark's capture filter field, for tapshim's interfaces: a tapshim
// match expression (TAP_MATCH's grammar: port 443 and not net 10.0.0.0/8),
// checked by the shim's own parser, so that what Wireshark accepts is what
// the tapped program will accept.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tapshim::extcap {

// @return the problem with `expression` (one line, with its offset), or
//         nothing if the shim would take it. Empty is valid: no filter.
std::optional<std::string> matchExpressionProblem(std::string_view expression);

// The expression a capture taps with: --match and the capture filter
// both hold. @return nothing if neither is given.
std::optional<std::string> combinedMatch(const std::optional<std::string>& match,
                                         const std::optional<std::string>& capture_filter);

}  // namespace tapshim::extcap
