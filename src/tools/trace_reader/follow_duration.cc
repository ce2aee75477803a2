#include "tools/trace_reader/follow_duration.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {

namespace {
constexpr std::string_view kFlag = "--duration";
}  // namespace

bool isDurationFlag(std::string_view arg) {
  return arg == kFlag ||
         (arg.size() > kFlag.size() && arg.substr(0, kFlag.size() + 1) == "--duration=");
}

absl::Status parseDuration(int argc, const char* const* argv, int* index, double* seconds) {
  const std::string_view arg = argv[*index];
  std::string value;
  if (arg == kFlag) {
    if (*index + 1 >= argc)
      return absl::InvalidArgumentError("--duration needs a number of seconds");
    value = argv[++*index];
  } else {
    value = std::string(arg.substr(kFlag.size() + 1));
  }
  double parsed = 0;
  if (!absl::SimpleAtod(value, &parsed) || !(parsed > 0) || parsed > 1e9) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration: '", value, "' is not a positive number of seconds"));
  }
  *seconds = parsed;
  return absl::OkStatus();
}

}  // namespace tapshim::tap2pcap
