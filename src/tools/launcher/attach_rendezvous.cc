#include "tools/launcher/attach_rendezvous.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/launcher/private_directory.h"

namespace tapshim::launcher {
namespace {

std::string errorText(int error) { return std::strerror(error); }

bool isPrivateDirectory(int fd, uid_t owner) {
  struct stat info {};
  return fstat(fd, &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == owner &&
         (info.st_mode & 07777) == 0700;
}

// Gives a file the process's user when root made it: the process must be
// able to read and write what the attach hands it, and nobody else.
bool giveTo(int fd, uid_t owner) {
  if (geteuid() != 0 || owner == 0) return true;
  return fchown(fd, owner, static_cast<gid_t>(-1)) == 0;
}

std::string randomSuffix() {
  unsigned char bytes[6] = {};
  if (getrandom(bytes, sizeof(bytes), 0) != static_cast<ssize_t>(sizeof(bytes))) {
    return absl::StrCat(getpid(), "x");
  }
  std::string text;
  for (unsigned char byte : bytes) absl::StrAppend(&text, absl::Hex(byte, absl::kZeroPad2));
  return text;
}

// The pid holding a write lock on `fd`'s file, or 0.
pid_t lockHolder(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (fcntl(fd, F_GETLK, &lock) != 0 || lock.l_type == F_UNLCK) return 0;
  return lock.l_pid;
}

}  // namespace

std::string rendezvousPath(const std::string& runtime_dir, uid_t euid) {
  if (!runtime_dir.empty() && runtime_dir[0] == '/') {
    const int fd = ::open(runtime_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const bool usable = fd >= 0 && isPrivateDirectory(fd, euid);
    if (fd >= 0) close(fd);
    if (usable) return runtime_dir + "/tapshim";
  }
  return absl::StrCat("/tmp/tapshim-", euid);
}

absl::StatusOr<AttachSession> AttachSession::open(const std::string& rendezvous, uid_t owner) {
  AttachSession session;
  session.rendezvous_ = rendezvous;
  session.owner_ = owner;
  if (mkdir(rendezvous.c_str(), 0700) == 0) {
    const int fd = ::open(rendezvous.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      giveTo(fd, owner);
      fchmod(fd, 0700);  // whatever the umask
      close(fd);
    }
  } else if (errno != EEXIST) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", rendezvous, ": ", errorText(errno)));
  }
  session.directory_fd_ =
      ::open(rendezvous.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (session.directory_fd_ < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(rendezvous, ": ", errorText(errno), " (a symlink is never followed)"));
  }
  if (!isPrivateDirectory(session.directory_fd_, owner)) {
    return absl::PermissionDeniedError(absl::StrCat(
        rendezvous, " is not private to uid ", owner,
        " (it must be that user's own directory, mode 0700): someone else could read traces"));
  }
  session.name_ = absl::StrCat("attach-", getpid(), "-", randomSuffix());
  if (mkdirat(session.directory_fd_, session.name_.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", rendezvous, "/", session.name_, ": ", errorText(errno)));
  }
  session.trace_directory_ = rendezvous + "/" + session.name_;
  const int fd = openat(session.directory_fd_, session.name_.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || !giveTo(fd, owner) || fchmod(fd, 0700) != 0) {
    const int error = errno;
    if (fd >= 0) close(fd);
    return absl::PermissionDeniedError(
        absl::StrCat("cannot prepare ", session.trace_directory_, ": ", errorText(error)));
  }
  close(fd);
  return session;
}

AttachSession::AttachSession(AttachSession&& other) noexcept
    : rendezvous_(std::move(other.rendezvous_)),
      directory_fd_(other.directory_fd_),
      owner_(other.owner_),
      name_(std::move(other.name_)),
      trace_directory_(std::move(other.trace_directory_)),
      request_name_(std::move(other.request_name_)),
      request_fd_(other.request_fd_),
      config_copied_(other.config_copied_) {
  other.directory_fd_ = -1;
  other.request_fd_ = -1;
  other.trace_directory_.clear();
  other.name_.clear();
}

AttachSession::~AttachSession() {
  withdrawRequest();
  if (directory_fd_ < 0) return;
  if (!name_.empty()) {
    unlinkat(directory_fd_, (name_ + ".ack").c_str(), 0);
    if (config_copied_) unlinkat(directory_fd_, (name_ + ".config").c_str(), 0);
  }
  if (!trace_directory_.empty()) removePrivateDirectory(trace_directory_);
  close(directory_fd_);
}

absl::Status AttachSession::copyConfig(const std::string& path) {
  const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return absl::NotFoundError(absl::StrCat("--config ", path, ": ", errorText(errno)));
  const std::string name = name_ + ".config";
  const int out = openat(directory_fd_, name.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    const int error = errno;
    close(in);
    return absl::InternalError(absl::StrCat("cannot copy --config: ", errorText(error)));
  }
  config_copied_ = true;
  giveTo(out, owner_);
  char buffer[8192];
  ssize_t got;
  bool ok = true;
  while ((got = read(in, buffer, sizeof(buffer))) > 0) {
    if (write(out, buffer, static_cast<size_t>(got)) != got) ok = false;
  }
  if (got < 0) ok = false;
  close(in);
  if (close(out) != 0) ok = false;
  if (!ok) return absl::InternalError(absl::StrCat("--config ", path, ": cannot copy it"));
  return absl::OkStatus();
}

absl::Status AttachSession::publishRequest(pid_t target, const std::string& text) {
  // Written and locked under a name of its own, then linked into place:
  // the process never sees a request half-written or not yet locked, and
  // link() fails when another one is there (one attach at a time).
  const std::string draft = name_ + ".request";
  const int fd = openat(directory_fd_, draft.c_str(),
                        O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::InternalError(absl::StrCat("cannot write the request: ", errorText(errno)));
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (!giveTo(fd, owner_) || fcntl(fd, F_SETLK, &lock) != 0 ||
      write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    const int error = errno;
    close(fd);
    unlinkat(directory_fd_, draft.c_str(), 0);
    return absl::InternalError(absl::StrCat("cannot write the request: ", errorText(error)));
  }
  const std::string request = absl::StrCat(target, ".attach");
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (linkat(directory_fd_, draft.c_str(), directory_fd_, request.c_str(), 0) == 0) {
      unlinkat(directory_fd_, draft.c_str(), 0);
      request_fd_ = fd;
      request_name_ = request;
      return absl::OkStatus();
    }
    if (errno != EEXIST) break;
    const int other = openat(directory_fd_, request.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    const pid_t holder = other >= 0 ? lockHolder(other) : 0;
    if (other >= 0) close(other);
    if (holder != 0) {
      close(fd);
      unlinkat(directory_fd_, draft.c_str(), 0);
      return absl::AlreadyExistsError(
          absl::StrCat("process ", target, " is already attached to, by tapshim attach (pid ",
                       holder, "); one attach at a time"));
    }
    // Stale: its attacher died (a lock dies with its process).
    unlinkat(directory_fd_, request.c_str(), 0);
  }
  const int error = errno;
  close(fd);
  unlinkat(directory_fd_, draft.c_str(), 0);
  return absl::InternalError(absl::StrCat("cannot publish the request: ", errorText(error)));
}

std::optional<std::string> AttachSession::answer() const {
  const int fd = openat(directory_fd_, (name_ + ".ack").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buffer[4096];
  const ssize_t got = read(fd, buffer, sizeof(buffer));
  close(fd);
  if (got <= 0 || buffer[got - 1] != '\n') return std::nullopt;  // not written whole yet
  return std::string(buffer, static_cast<size_t>(got - 1));
}

void AttachSession::withdrawRequest() {
  if (request_fd_ < 0) return;
  // Only our own request is removed (a stale-request replacement by
  // another attacher cannot have happened while we held the lock).
  struct stat ours {
  }, named{};
  if (fstat(request_fd_, &ours) == 0 &&
      fstatat(directory_fd_, request_name_.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
      ours.st_ino == named.st_ino && ours.st_dev == named.st_dev) {
    unlinkat(directory_fd_, request_name_.c_str(), 0);
  }
  close(request_fd_);  // the lock goes with it
  request_fd_ = -1;
}

}  // namespace tapshim::launcher
