#include "tools/extcap/capture_filter.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tap_core/match/match_expression.h"

namespace tapshim::extcap {

std::optional<std::string> matchExpressionProblem(std::string_view expression) {
  if (expression.find_first_not_of(" \t\n") == std::string_view::npos) return std::nullopt;
  std::string error;
  if (core::MatchExpression::parse(expression, &error).has_value()) return std::nullopt;
  // The shim names its variable; here the expression is the filter.
  constexpr absl::string_view kVariable = "TAP_MATCH: ";
  absl::string_view problem = error;
  if (absl::StartsWith(problem, kVariable)) problem.remove_prefix(kVariable.size());
  return absl::StrCat("tapshim match expression: ", problem);
}

std::optional<std::string> combinedMatch(const std::optional<std::string>& match,
                                         const std::optional<std::string>& capture_filter) {
  const bool has_filter =
      capture_filter && capture_filter->find_first_not_of(" \t\n") != std::string::npos;
  if (match && has_filter) return absl::StrCat("(", *match, ") and (", *capture_filter, ")");
  if (match) return match;
  if (has_filter) return capture_filter;
  return std::nullopt;
}

}  // namespace tapshim::extcap
