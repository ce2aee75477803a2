#include "tools/extcap/user_install.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tapshim::extcap {
namespace {

constexpr char kLinkName[] = "tapshim-extcap";

// mkdir -p, each missing level 0755.
absl::Status makeDirectories(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::InternalError(absl::StrCat(prefix, ": ", std::strerror(errno)));
    }
    if (slash == std::string::npos) break;
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return absl::InternalError(absl::StrCat(path, ": not a directory"));
  }
  return absl::OkStatus();
}

// A link of ours: one to a file named tapshim-extcap.
bool isOurLink(const std::string& path) {
  char target[PATH_MAX];
  const ssize_t length = readlink(path.c_str(), target, sizeof(target) - 1);
  if (length <= 0) return false;
  const absl::string_view text(target, static_cast<size_t>(length));
  return text == kLinkName || absl::EndsWith(text, absl::StrCat("/", kLinkName));
}

}  // namespace

absl::StatusOr<std::string> userExtcapDirectory() {
  const char* home = std::getenv("HOME");
  std::string base;
  if (home != nullptr && home[0] == '/') {
    base = home;
  } else if (const passwd* entry = getpwuid(getuid()); entry != nullptr && entry->pw_dir) {
    base = entry->pw_dir;
  } else {
    return absl::NotFoundError("cannot tell the home directory (set HOME)");
  }
  return absl::StrCat(base, "/.local/lib/wireshark/extcap");
}

absl::StatusOr<std::string> installUserLink(const std::string& directory, const std::string& self) {
  absl::Status made = makeDirectories(directory);
  if (!made.ok()) return made;
  const std::string link = absl::StrCat(directory, "/", kLinkName);
  struct stat info;
  if (lstat(link.c_str(), &info) == 0) {
    if (!S_ISLNK(info.st_mode) || !isOurLink(link)) {
      return absl::AlreadyExistsError(
          absl::StrCat(link, " exists and is not a link to tapshim-extcap; left alone"));
    }
  }
  // Made beside it and renamed over it: the old link is never missing.
  const std::string temporary = absl::StrCat(link, ".", getpid(), ".tmp");
  unlink(temporary.c_str());
  if (symlink(self.c_str(), temporary.c_str()) != 0) {
    return absl::InternalError(absl::StrCat(temporary, ": ", std::strerror(errno)));
  }
  if (rename(temporary.c_str(), link.c_str()) != 0) {
    const int error = errno;
    unlink(temporary.c_str());
    return absl::InternalError(absl::StrCat(link, ": ", std::strerror(error)));
  }
  return absl::StrCat(link, " -> ", self);
}

}  // namespace tapshim::extcap
