// The rendezvous directory, where `tapshim attach` leaves its request for a
// process in standby: private to the process's user, so that only that user
// (or root) can ask, and a process never writes where its attacher could
// not. The launcher's attach_rendezvous.cc applies the same rule.
//
// Everything here uses raw system calls (tap_core/base/os.h): libc's open
// would enter the shim's own hooks.
#pragma once

#include <cstddef>
#include <string_view>

namespace tapshim::preload::rendezvous {

inline constexpr size_t kPathMax = 512;

// The rendezvous directory of a process whose effective user is `euid`:
// "<runtime_dir>/tapshim" when runtime_dir (XDG_RUNTIME_DIR) is an absolute
// path naming a directory owned by `euid` with mode 0700, else
// "/tmp/tapshim-<euid>". False when the path does not fit.
bool directoryPath(std::string_view runtime_dir, unsigned euid, char (&path)[kPathMax]);

// Opens `path` (relative to `at`) as a directory, never through a symlink
// (O_NOFOLLOW|O_DIRECTORY), and keeps it only when it is private to `euid`:
// owned by it, permission bits exactly 0700. The fd, or -errno (-EPERM when
// it is not private).
long openPrivateDirectory(int at, const char* path, unsigned euid);

// Whether `fd` is a regular file owned by `euid`, with no permission for
// group or others, and a single link.
bool isPrivateFile(int fd, unsigned euid);

}  // namespace tapshim::preload::rendezvous
