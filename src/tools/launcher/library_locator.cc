#include "tools/launcher/library_locator.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace tapshim::launcher {
namespace {

constexpr char kLibraryName[] = "libtapshim.so";

std::string dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// "../.." for "bin", "../../.." for "usr/local/bin": the way from the
// directory `relative` names back to its root.
std::string upFrom(const std::string& relative) {
  std::string up;
  for (absl::string_view part : absl::StrSplit(relative, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    up += up.empty() ? ".." : "/..";
  }
  return up.empty() ? "." : up;
}

bool isRegularFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

absl::StatusOr<std::string> absolute(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  return std::string(resolved);
}

}  // namespace

std::vector<std::string> libraryCandidates(const std::string& launcher_path,
                                           const InstallLayout& layout) {
  const std::string dir = dirname(launcher_path);
  std::vector<std::string> candidates;
  candidates.push_back(absl::StrCat(dir, "/../preload/", kLibraryName));
  if (!layout.libdir.empty() && layout.libdir[0] == '/') {
    candidates.push_back(absl::StrCat(layout.libdir, "/", kLibraryName));
  } else if (!layout.libdir.empty()) {
    if (!layout.bindir.empty() && layout.bindir[0] != '/') {
      candidates.push_back(
          absl::StrCat(dir, "/", upFrom(layout.bindir), "/", layout.libdir, "/", kLibraryName));
    }
    if (!layout.prefix.empty()) {
      candidates.push_back(absl::StrCat(layout.prefix, "/", layout.libdir, "/", kLibraryName));
    }
  }
  candidates.push_back(absl::StrCat(dir, "/../lib/", kLibraryName));
  return candidates;
}

absl::StatusOr<std::string> findLibrary(const std::optional<std::string>& explicit_path,
                                        const std::string& launcher_path,
                                        const InstallLayout& layout) {
  std::string found;
  if (explicit_path) {
    struct stat info;
    if (stat(explicit_path->c_str(), &info) != 0) {
      return absl::NotFoundError(
          absl::StrCat("--library ", *explicit_path, ": ", std::strerror(errno)));
    }
    if (!S_ISREG(info.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--library ", *explicit_path, ": not a regular file"));
    }
    found = *explicit_path;
  } else {
    const std::vector<std::string> candidates = libraryCandidates(launcher_path, layout);
    for (const std::string& candidate : candidates) {
      if (isRegularFile(candidate)) {
        found = candidate;
        break;
      }
    }
    if (found.empty()) {
      return absl::NotFoundError(absl::StrCat("cannot find ", kLibraryName, " (looked in ",
                                              absl::StrJoin(candidates, ", "),
                                              "); give it with --library PATH"));
    }
  }
  absl::StatusOr<std::string> path = absolute(found);
  if (!path.ok()) return path.status();
  if (path->find_first_of(" :") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(*path, ": LD_PRELOAD cannot hold a path with a space or colon"));
  }
  return path;
}

namespace {

// A sanitizer's runtime (libasan, libtsan, libubsan, clang's
// libclang_rt.*): it refuses to start unless it is first in LD_PRELOAD.
bool isSanitizerRuntime(absl::string_view entry) {
  const size_t slash = entry.rfind('/');
  const absl::string_view name = slash == absl::string_view::npos ? entry : entry.substr(slash + 1);
  for (absl::string_view runtime :
       {"libasan.", "libtsan.", "libubsan.", "libhwasan.", "liblsan.", "libclang_rt."}) {
    if (absl::StartsWith(name, runtime)) return true;
  }
  return false;
}

}  // namespace

std::string preloadValue(const std::string& library, const char* existing) {
  if (existing == nullptr || *existing == '\0') return library;
  std::vector<absl::string_view> first, rest;
  for (absl::string_view entry :
       absl::StrSplit(existing, absl::ByAnyChar(": "), absl::SkipEmpty())) {
    if (entry == library) return existing;
    (isSanitizerRuntime(entry) ? first : rest).push_back(entry);
  }
  if (first.empty()) return absl::StrCat(library, ":", existing);
  first.push_back(library);
  first.insert(first.end(), rest.begin(), rest.end());
  return absl::StrJoin(first, ":");
}

}  // namespace tapshim::launcher
