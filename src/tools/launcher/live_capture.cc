#include "tools/launcher/live_capture.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tools/launcher/directory_access.h"
#include "tools/launcher/follower_process.h"
#include "tools/launcher/private_directory.h"
#include "tools/launcher/tool_locator.h"

namespace tapshim::launcher {
namespace {

// How long the follower may take to drain what is on disk once the
// program is done, before it is killed.
constexpr int kDrainSeconds = 30;

// The largest per-event limit the shim takes.
constexpr char kWholeEvent[] = "4294967295";

// The signals the launcher takes over while it supervises.
sigset_t supervisedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGINT, SIGQUIT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  return set;
}

// Forks the program: the launcher's process group, its stdio, the given
// environment; the signal mask and dispositions it had before the launcher.
// Exits 127 or 126 (as a shell) when the command cannot be run.
pid_t startProgram(std::vector<std::string> command,
                   const std::vector<std::pair<std::string, std::string>>& environment,
                   const sigset_t& mask, const struct sigaction& child_action) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  for (int i = 0; kLauncherVariables[i] != nullptr; ++i) unsetenv(kLauncherVariables[i]);
  for (const auto& [name, value] : environment) setenv(name.c_str(), value.c_str(), 1);
  sigaction(SIGCHLD, &child_action, nullptr);
  sigprocmask(SIG_SETMASK, &mask, nullptr);
  std::vector<char*> args;
  for (std::string& arg : command) args.push_back(arg.data());
  args.push_back(nullptr);
  execvp(args[0], args.data());
  const int error = errno;
  std::fprintf(stderr, "tapshim: %s: %s\n", args[0], std::strerror(error));
  _exit(error == ENOENT ? 127 : 126);
}

// Ends the launcher as the program ended: its exit status, or its signal.
[[noreturn]] void endLike(int status) {
  if (WIFEXITED(status)) std::exit(WEXITSTATUS(status));
  const int sig = WTERMSIG(status);
  // The program already dumped its core if it was going to; the launcher
  // must not add one of its own.
  const rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(sig, SIG_DFL);
  sigset_t just;
  sigemptyset(&just);
  sigaddset(&just, sig);
  sigprocmask(SIG_UNBLOCK, &just, nullptr);
  raise(sig);
  std::exit(128 + sig);  // a signal whose default is not to end the process
}

}  // namespace

std::optional<std::string> liveOutputProblem(const std::string& output) {
  struct stat info;
  if (stat(output.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return "-w " + output + ": is a directory";
    return std::nullopt;
  }
  const size_t slash = output.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : output.substr(0, slash));
  if (stat(dir.c_str(), &info) != 0) {
    return "-w " + output + ": directory " + dir + ": " + std::strerror(errno);
  }
  if (!S_ISDIR(info.st_mode)) return "-w " + output + ": " + dir + " is not a directory";
  return std::nullopt;
}

int runLiveCapture(LauncherOptions options, const std::string& library,
                   const InstallLayout& layout) {
  const std::string& output = *options.live_output;
  if (std::optional<std::string> problem = liveOutputProblem(output)) {
    std::fprintf(stderr, "tapshim: %s\n", problem->c_str());
    return 2;
  }
  absl::StatusOr<std::string> tap2pcap = findTool("tap2pcap", selfExecutablePath(), layout);
  if (!tap2pcap.ok()) {
    std::fprintf(stderr, "tapshim: -w: %s\n", std::string(tap2pcap.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<std::string> directory = makePrivateDirectory();
  if (!directory.ok()) {
    std::fprintf(stderr, "tapshim: -w: %s\n", std::string(directory.status().message()).c_str());
    return 2;
  }
  if (options.runs_as) {
    // A server that becomes another user writes its traces as that user:
    // root hands it the directory (the follower, root's, still reads it).
    absl::StatusOr<RunsAs> user = lookUpUser(*options.runs_as);
    if (user.ok()) {
      if (geteuid() == 0 && user->uid != 0) chown(directory->c_str(), user->uid, user->gid);
      if (std::optional<std::string> warning = refusedDirectory(*directory, *user)) {
        std::fprintf(stderr, "tapshim: warning: -w %s: %s\n", output.c_str(), warning->c_str());
      }
    }
  }
  options.prefix = *directory + "/trace";
  options.streaming = true;
  // A capture shows every byte: unless told otherwise (a flag, or the
  // limits of a --config), each event is kept whole. Streamed events point
  // at the program's own buffer, so this costs no memory.
  if (!options.config) {
    if (!options.max_rx_bytes) options.max_rx_bytes = kWholeEvent;
    if (!options.max_tx_bytes) options.max_tx_bytes = kWholeEvent;
  }
  std::vector<std::pair<std::string, std::string>> environment = environmentFor(options);
  environment.emplace_back("LD_PRELOAD", preloadValue(library, std::getenv("LD_PRELOAD")));

  // Blocked before the first fork, so that no signal meant for the
  // program is lost between the forks and the wait below.
  const sigset_t supervised = supervisedSignals();
  sigset_t previous;
  sigprocmask(SIG_BLOCK, &supervised, &previous);
  // SIGCHLD may come ignored from the caller, which would reap the
  // children behind the launcher's back; the program gets it back as it was.
  struct sigaction child_action = {};
  struct sigaction previous_child_action;
  child_action.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &child_action, &previous_child_action);

  absl::StatusOr<pid_t> follower = startFollower(*tap2pcap, *directory, output);
  if (!follower.ok()) {
    std::fprintf(stderr, "tapshim: -w: %s\n", std::string(follower.status().message()).c_str());
    removePrivateDirectory(*directory);
    return 2;
  }
  const pid_t program = startProgram(options.command, environment, previous, previous_child_action);
  if (program < 0) {
    std::fprintf(stderr, "tapshim: cannot fork: %s\n", std::strerror(errno));
    stopFollower(*follower, kDrainSeconds);
    removePrivateDirectory(*directory);
    return 2;
  }

  int program_status = 0;
  bool follower_running = true;
  for (bool program_running = true; program_running;) {
    siginfo_t info;
    const int sig = sigwaitinfo(&supervised, &info);
    if (sig < 0) continue;  // EINTR: a signal outside the set was handled
    if (sig != SIGCHLD) {
      // The terminal signals the whole foreground group, the program
      // included (SI_KERNEL); a kill aimed at the launcher is passed on.
      if (info.si_code != SI_KERNEL) kill(program, sig);
      continue;
    }
    int status = 0;
    for (pid_t done; (done = waitpid(-1, &status, WNOHANG)) > 0;) {
      if (done == program) {
        program_status = status;
        program_running = false;
      } else if (done == *follower) {
        follower_running = false;
        std::fprintf(stderr,
                     "tapshim: -w %s: the live capture ended before the program (tap2pcap: %s); "
                     "the program goes on, its later connections are not captured\n",
                     output.c_str(), describeWaitStatus(status).c_str());
      }
    }
  }

  if (follower_running) {
    const int fifo_hold = waitForFifoReader(output, *follower, kDrainSeconds);
    const FollowerEnd end = stopFollower(*follower, kDrainSeconds);
    if (fifo_hold >= 0) close(fifo_hold);
    if (end.killed) {
      std::fprintf(stderr,
                   "tapshim: -w %s: tap2pcap did not finish within %d s of the program's end "
                   "(no reader on a FIFO?) and was killed; the capture may be incomplete\n",
                   output.c_str(), kDrainSeconds);
    } else if (!WIFEXITED(end.status)) {
      std::fprintf(stderr, "tapshim: -w %s: tap2pcap ended by %s\n", output.c_str(),
                   describeWaitStatus(end.status).c_str());
    }
  }
  if (!removePrivateDirectory(*directory)) {
    std::fprintf(stderr, "tapshim: -w: could not remove %s: %s\n", directory->c_str(),
                 std::strerror(errno));
  }
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  endLike(program_status);
}

}  // namespace tapshim::launcher
