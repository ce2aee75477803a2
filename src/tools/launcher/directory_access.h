// Whether the user a program will run as can create trace files, asked
// before the program starts. A server started as root that switches to
// another user (apache's workers as www-data, nginx's as nobody) creates
// its traces as that user; the shim creates no directory, and finds out
// only at the first connection, once per process, on the server's stderr.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace tapshim::launcher {

// The directory PREFIX_<id>.<ext> files go to ("." for a bare name).
std::string prefixDirectory(const std::string& prefix);

// A user of the passwd database, by name or number (--runs-as).
struct RunsAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};
absl::StatusOr<RunsAs> lookUpUser(const std::string& text);

// A one-line warning (without "tapshim: warning: ") when `user` cannot
// create files in `directory`, or nothing when it can. Asked by a child
// process that becomes the user, so the kernel answers as it will for the
// program (ACLs, a parent directory closed to the user, root-squashed NFS
// all count). Only root can become another user: any other caller gets a
// warning that the check was not made, unless `user` is itself.
std::optional<std::string> refusedDirectory(const std::string& directory, const RunsAs& user);

}  // namespace tapshim::launcher
