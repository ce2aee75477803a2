// A tmpfs of a few KiB mounted on a fresh directory, for tests that need a
// real full disk (ENOSPC part way through a write). Mounting needs root
// (CAP_SYS_ADMIN), as in CI; elsewhere mounted() is false and the test
// skips, saying why.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tests/tap_core/fakes/temp_directory.h"

namespace tapshim::testing {

class SmallTmpfs {
 public:
  explicit SmallTmpfs(size_t bytes) {
    if (directory_.path().empty()) return;
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    if (mount("tmpfs", directory_.path().c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      why_not_ = std::string("cannot mount a tmpfs (needs root): ") + std::strerror(errno);
    }
  }
  ~SmallTmpfs() {
    if (mounted_) umount2(directory_.path().c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& whyNot() const { return why_not_; }
  const std::filesystem::path& path() const { return directory_.path(); }

 private:
  TempDirectory directory_{"tapshim_tmpfs"};
  bool mounted_ = false;
  std::string why_not_;
};

}  // namespace tapshim::testing
