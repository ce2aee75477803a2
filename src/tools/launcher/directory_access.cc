#include "tools/launcher/directory_access.h"

#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tapshim::launcher {
namespace {

// The child's answers.
constexpr int kAllowed = 0;
constexpr int kRefused = 1;
constexpr int kCannotBecome = 2;

std::vector<gid_t> groupsOf(const RunsAs& user) {
  int count = 32;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  if (getgrouplist(user.name.c_str(), user.gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count));  // count now says how many there are
    if (getgrouplist(user.name.c_str(), user.gid, groups.data(), &count) < 0) count = 0;
  }
  groups.resize(static_cast<size_t>(count));
  if (groups.empty()) groups.push_back(user.gid);
  return groups;
}

}  // namespace

std::string prefixDirectory(const std::string& prefix) {
  const size_t slash = prefix.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : prefix.substr(0, slash);
}

absl::StatusOr<RunsAs> lookUpUser(const std::string& text) {
  const passwd* entry = getpwnam(text.c_str());
  uid_t number = 0;
  if (entry == nullptr && absl::SimpleAtoi(text, &number)) entry = getpwuid(number);
  if (entry == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--runs-as: no user '", text, "'"));
  }
  return RunsAs{entry->pw_name, entry->pw_uid, entry->pw_gid};
}

std::optional<std::string> refusedDirectory(const std::string& directory, const RunsAs& user) {
  const std::string who = absl::StrCat(user.name, " (uid ", user.uid, ", gid ", user.gid, ")");
  if (geteuid() != 0) {
    if (user.uid == geteuid()) return std::nullopt;  // the caller's own check covers it
    return absl::StrCat("--runs-as ", user.name, ": only root can ask as another user whether ",
                        directory, " lets it create files; not checked");
  }
  const std::vector<gid_t> groups = groupsOf(user);
  const pid_t child = fork();
  if (child < 0) {
    return absl::StrCat("cannot check ", directory, " as ", who, ": fork: ", std::strerror(errno));
  }
  if (child == 0) {
    // Groups first: once the user id is dropped, they cannot be changed.
    if (setgroups(groups.size(), groups.data()) != 0 || setgid(user.gid) != 0 ||
        setuid(user.uid) != 0) {
      _exit(kCannotBecome);
    }
    _exit(access(directory.c_str(), W_OK | X_OK) == 0 ? kAllowed : kRefused);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return absl::StrCat("cannot check ", directory, " as ", who);
  }
  const int answer = WIFEXITED(status) ? WEXITSTATUS(status) : kCannotBecome;
  if (answer == kAllowed) return std::nullopt;
  if (answer == kRefused) {
    return absl::StrCat(who, " cannot create files in ", directory,
                        ": the program's traces will be lost once it runs as that user");
  }
  return absl::StrCat("cannot check ", directory, " as ", who, ": cannot become that user");
}

}  // namespace tapshim::launcher
