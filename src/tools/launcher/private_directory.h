// The directory `tapshim -w` streams traces into: the launcher's own
// (mkdtemp, 0700: traces hold plaintext), read by the follower while the
// program runs and removed with everything in it at the end.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace tapshim::launcher {

// Creates $TMPDIR/tapshim-live-XXXXXX (/tmp without TMPDIR), mode 0700.
// @return its path, or an error (one line).
absl::StatusOr<std::string> makePrivateDirectory();

// Removes the files directly in `directory` (the traces; the shim makes no
// subdirectory), then the directory. Links are removed, never followed.
// @return false if something was left behind.
bool removePrivateDirectory(const std::string& directory);

}  // namespace tapshim::launcher
