#include "tools/launcher/tool_locator.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tapshim::launcher {

std::vector<std::string> toolCandidates(const std::string& name, const std::string& self_path,
                                        const InstallLayout& layout) {
  std::vector<std::string> candidates;
  const size_t slash = self_path.rfind('/');
  if (slash != std::string::npos) {
    candidates.push_back(absl::StrCat(self_path.substr(0, slash + 1), name));
  }
  if (!layout.bindir.empty() && layout.bindir[0] == '/') {
    candidates.push_back(absl::StrCat(layout.bindir, "/", name));
  } else if (!layout.bindir.empty() && !layout.prefix.empty()) {
    candidates.push_back(absl::StrCat(layout.prefix, "/", layout.bindir, "/", name));
  }
  return candidates;
}

absl::StatusOr<std::string> findTool(const std::string& name, const std::string& self_path,
                                     const InstallLayout& layout) {
  const std::vector<std::string> candidates = toolCandidates(name, self_path, layout);
  for (const std::string& candidate : candidates) {
    struct stat info;
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("cannot find ", name, " (looked in ", absl::StrJoin(candidates, ", "), ")"));
}

std::string selfExecutablePath() {
  char buffer[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (length <= 0) return "";
  return std::string(buffer, static_cast<size_t>(length));
}

}  // namespace tapshim::launcher
