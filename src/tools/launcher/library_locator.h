// Finds the libtapshim.so that belongs to the running launcher: beside it in
// the build tree, or in the installation's library directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tapshim::launcher {

struct InstallLayout {
  std::string prefix;  // meson's prefix, absolute
  std::string bindir;  // relative to prefix (or absolute)
  std::string libdir;  // relative to prefix (or absolute)
};

// The places to look, best first, for a launcher at `launcher_path` (the
// resolved /proc/self/exe):
//   <dir>/../preload/libtapshim.so      (build tree: src/tools -> src/preload)
//   <dir>/<bindir->libdir>/libtapshim.so (relocated installation)
//   <prefix>/<libdir>/libtapshim.so     (installation)
//   <dir>/../lib/libtapshim.so
std::vector<std::string> libraryCandidates(const std::string& launcher_path,
                                           const InstallLayout& layout);

// The shim to preload, as an absolute path: `explicit_path` (--library)
// if given, otherwise the first candidate that exists.
// @return an error (one line) if the file is missing or not a regular file,
//         or its path cannot stand in LD_PRELOAD (a space or colon in it).
absl::StatusOr<std::string> findLibrary(const std::optional<std::string>& explicit_path,
                                        const std::string& launcher_path,
                                        const InstallLayout& layout);

// LD_PRELOAD with `library` in front of `existing` (kept, unless it is
// already there), but behind a sanitizer's runtime, which must come first.
std::string preloadValue(const std::string& library, const char* existing);

}  // namespace tapshim::launcher
