#include "tools/launcher/follower_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace tapshim::launcher {
namespace {

// The follower's environment: the caller's without what would tap it.
std::vector<char*> untappedEnvironment() {
  std::vector<char*> kept;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view text = *entry;
    if (absl::StartsWith(text, "LD_PRELOAD=") || absl::StartsWith(text, "TAP_")) continue;
    kept.push_back(*entry);
  }
  kept.push_back(nullptr);
  return kept;
}

// In the child, before exec: default dispositions, and only the signals
// that end a follow blocked. tap2pcap --follow reads those from a signalfd
// (they stay blocked there), so a SIGTERM sent before it is ready waits
// for it instead of killing it before it wrote anything.
void resetSignals() {
  for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) signal(sig, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, sig);
  sigprocmask(SIG_SETMASK, &stop_signals, nullptr);
}

}  // namespace

absl::StatusOr<pid_t> startFollower(const std::string& tap2pcap, const std::string& input,
                                    const std::string& output) {
  std::vector<std::string> args = {tap2pcap, "--follow", input, "-o", output};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp = untappedEnvironment();
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("cannot start ", tap2pcap, ": ", std::strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the launcher died before prctl
    resetSignals();
    const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
    }
    execve(argv[0], argv.data(), envp.data());
    std::fprintf(stderr, "tapshim: %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  // Also from the parent: the group must exist before anyone signals it.
  setpgid(pid, pid);
  return pid;
}

FollowerEnd stopFollower(pid_t follower, int grace_seconds) {
  FollowerEnd end;
  kill(follower, SIGTERM);
  timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += grace_seconds;
  for (;;) {
    const pid_t done = waitpid(follower, &end.status, WNOHANG);
    if (done == follower || (done < 0 && errno != EINTR)) return end;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > deadline.tv_sec ||
        (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
      break;
    }
    // A bounded poll: SIGCHLD may be blocked or ignored by the caller, and
    // 20 ms is nothing next to draining a capture.
    const timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
  kill(-follower, SIGKILL);
  while (waitpid(follower, &end.status, 0) < 0 && errno == EINTR) {
  }
  end.killed = true;
  return end;
}

namespace {

bool hasEnded(pid_t follower) {
  siginfo_t info = {};
  return waitid(P_PID, follower, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == follower;
}

// Whether `pid` has the file `fifo` open (one of /proc/PID/fd is it).
bool holdsOpen(pid_t pid, const struct stat& fifo) {
  const std::string dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* fds = opendir(dir.c_str());
  if (fds == nullptr) return false;
  bool found = false;
  while (const dirent* entry = readdir(fds)) {
    struct stat info;
    if (entry->d_name[0] != '.' &&
        stat(absl::StrCat(dir, "/", entry->d_name).c_str(), &info) == 0 &&
        info.st_dev == fifo.st_dev && info.st_ino == fifo.st_ino) {
      found = true;
      break;
    }
  }
  closedir(fds);
  return found;
}

}  // namespace

int waitForFifoReader(const std::string& output, pid_t follower, int seconds) {
  struct stat fifo;
  if (stat(output.c_str(), &fifo) != 0 || !S_ISFIFO(fifo.st_mode)) return -1;
  int held = -1;
  for (int waited_ms = 0; waited_ms < seconds * 1000 && !hasEnded(follower); waited_ms += 50) {
    // The follower opens the FIFO once it has a reader: from then on, what
    // it drains at SIGTERM reaches the reader, or the reader is gone for
    // good (Wireshark closed), and there is nothing more to wait for.
    if (holdsOpen(follower, fifo)) break;
    // Without a reader, a non-blocking open for writing fails (ENXIO).
    if (held < 0) held = open(output.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    const timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
  return held;
}

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  }
  return "an unknown end";
}

}  // namespace tapshim::launcher
