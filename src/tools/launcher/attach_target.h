// What `tapshim attach` learns about its target from /proc/PID: whose it
// is, what it is called, whether libtapshim.so is loaded in it, and the
// environment it was started with (standby or not, XDG_RUNTIME_DIR).
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace tapshim::launcher {

struct AttachTarget {
  pid_t pid = 0;
  std::string name;          // /proc/PID/comm
  uid_t euid = 0;            // its effective user (the second Uid: field)
  bool has_library = false;  // a libtapshim.so mapped (/proc/PID/maps)
  // Started in standby, as its initial environment says: TAP_STANDBY set
  // to a yes value, or a TAP_CONFIG (whose admin_config only the process
  // can read).
  bool standby = false;
  bool standby_explicitly_off = false;  // TAP_STANDBY=0 or TAP_PATH_PREFIX set
  std::string runtime_dir;              // its XDG_RUNTIME_DIR, or ""
  // Why maps or environ could not be read (another user's process), or "".
  std::string unreadable;
};

// @return the target (see `unreadable`), or one line: no such process.
absl::StatusOr<AttachTarget> inspectTarget(pid_t pid);

}  // namespace tapshim::launcher
