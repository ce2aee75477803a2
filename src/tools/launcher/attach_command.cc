#include "tools/launcher/attach_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/launcher/attach_options.h"
#include "tools/launcher/attach_rendezvous.h"
#include "tools/launcher/attach_target.h"
#include "tools/launcher/follower_process.h"
#include "tools/launcher/library_locator.h"
#include "tools/launcher/tool_locator.h"

extern char** environ;

namespace tapshim::launcher {
namespace {

// How long the process has to answer: it notices the request at its next
// hooked call, at most 100 ms after the previous check.
constexpr int kAnswerSeconds = 5;
// After the request is withdrawn: every hooked call of the process from
// 100 ms on detaches it first, so by then nothing new goes into the
// directory, and the output has had time to read the traces' ends.
constexpr long kDetachGraceMillis = 300;
constexpr int kOutputGraceSeconds = 10;

int refuse(const std::string& message) {
  std::fprintf(stderr, "tapshim attach: %s\n", message.c_str());
  return 1;
}

int64_t monotonicMillis() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

void sleepMillis(long millis) {
  timespec pause{millis / 1000, (millis % 1000) * 1000000};
  while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
  }
}

// The request's text (tap_core/config/attach_request.h).
std::string requestText(const AttachOptions& options, const AttachSession& session) {
  std::string text = absl::StrCat("dir=", session.name(), "\n");
  if (options.config) absl::StrAppend(&text, "config=1\n");
  if (options.match) absl::StrAppend(&text, "TAP_MATCH=", *options.match, "\n");
  // A live view shows every byte, as tapshim -w does: unless told
  // otherwise (a flag, or the limits of a --config), each event is kept
  // whole. Streamed events point at the program's own buffer: no memory.
  const char* whole = options.config ? nullptr : "4294967295";
  if (const auto& rx = options.max_rx_bytes; rx || whole) {
    absl::StrAppend(&text, "TAP_MAX_BUFFERED_RX_BYTES=", rx ? *rx : whole, "\n");
  }
  if (const auto& tx = options.max_tx_bytes; tx || whole) {
    absl::StrAppend(&text, "TAP_MAX_BUFFERED_TX_BYTES=", tx ? *tx : whole, "\n");
  }
  if (options.min_streamed_sent_bytes) {
    absl::StrAppend(&text, "TAP_MIN_STREAMED_SENT_BYTES=", *options.min_streamed_sent_bytes, "\n");
  }
  if (options.connection_per_event) absl::StrAppend(&text, "TAP_CONNECTION_PER_EVENT=1\n");
  return text;
}

// The output on our own stdout (tapshim-view, or tap2pcap -o -): as
// startFollower, in a group of its own, untapped, but stdout kept.
absl::StatusOr<pid_t> startOnStdout(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text = *entry;
    if (text.rfind("LD_PRELOAD=", 0) == 0 || text.rfind("TAP_", 0) == 0) continue;
    envp.push_back(*entry);
  }
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("cannot start ", args[0]));
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    execve(argv[0], argv.data(), envp.data());
    std::fprintf(stderr, "tapshim attach: %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

// Who may attach, and to what: the first step's refusals.
std::optional<std::string> targetProblem(const AttachTarget& target) {
  const uid_t me = geteuid();
  const std::string who = absl::StrCat("process ", target.pid, " (", target.name, ")");
  if (me != 0 && target.euid != me) {
    return absl::StrCat(who, " runs as uid ", target.euid,
                        ": only its own user or root can attach to it");
  }
  if (!target.unreadable.empty()) return absl::StrCat(who, ": ", target.unreadable);
  if (!target.has_library) {
    return absl::StrCat(who,
                        " has no libtapshim.so loaded (/proc/PID/maps): start it with "
                        "TAP_STANDBY=1 (or tapshim --standby -- CMD) to attach later");
  }
  if (!target.standby) {
    return absl::StrCat(who,
                        " was not started in standby (no TAP_STANDBY=1 or TAP_CONFIG in its "
                        "environment): ",
                        target.standby_explicitly_off ? "it taps on its own settings"
                                                      : "nothing waits for an attach");
  }
  return std::nullopt;
}

}  // namespace

int runAttach(int argc, const char* const* argv, const InstallLayout& layout) {
  absl::StatusOr<AttachOptions> options = parseAttachCommandLine(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "tapshim %s (tapshim attach --help for usage)\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(kAttachUsage, stdout);
    return 0;
  }
  absl::StatusOr<AttachTarget> target = inspectTarget(options->pid);
  if (!target.ok()) return refuse(std::string(target.status().message()));
  if (std::optional<std::string> problem = targetProblem(*target)) return refuse(*problem);

  const bool to_file = options->live_output.has_value();
  absl::StatusOr<std::string> tool =
      findTool(to_file ? "tap2pcap" : "tapshim-view", selfExecutablePath(), layout);
  if (!tool.ok()) return refuse(std::string(tool.status().message()));

  // Ctrl-C, SIGTERM and SIGHUP end the attach in order; SIGCHLD says the
  // output ended. All are taken with sigtimedwait.
  sigset_t ending;
  sigemptyset(&ending);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&ending, sig);
  sigprocmask(SIG_BLOCK, &ending, nullptr);

  absl::StatusOr<AttachSession> session =
      AttachSession::open(rendezvousPath(target->runtime_dir, target->euid), target->euid);
  if (!session.ok()) return refuse(std::string(session.status().message()));
  if (options->config) {
    if (absl::Status copied = session->copyConfig(*options->config); !copied.ok()) {
      return refuse(std::string(copied.message()));
    }
  }
  if (absl::Status published =
          session->publishRequest(options->pid, requestText(*options, *session));
      !published.ok()) {
    return refuse(std::string(published.message()));
  }

  std::optional<std::string> answer;
  const int64_t answer_deadline = monotonicMillis() + kAnswerSeconds * 1000;
  while (!(answer = session->answer()) && monotonicMillis() < answer_deadline) {
    siginfo_t info;
    const timespec pause = {0, 20 * 1000 * 1000};
    const int sig = sigtimedwait(&ending, &info, &pause);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) return 1;  // the session cleans up
  }
  if (!answer) {
    return refuse(absl::StrCat("no answer from process ", options->pid, " (", target->name,
                               ") within ", kAnswerSeconds,
                               " s: its library is not in standby (a configuration error is on "
                               "its stderr), or it made no hooked call meanwhile (an idle "
                               "process notices an attach at its next socket or file call)"));
  }
  std::vector<std::string> fields = absl::StrSplit(*answer, absl::MaxSplits('\t', 2));
  if (fields[0] != "attached" || fields.size() < 3) {
    return refuse(absl::StrCat("process ", options->pid,
                               " refused the attach: ", fields.size() > 1 ? fields[1] : *answer));
  }
  std::fprintf(stderr, "tapshim attach: attached to %s (%s); Ctrl-C ends the attach\n",
               fields[1].c_str(), fields[2].c_str());

  absl::StatusOr<pid_t> output =
      to_file && *options->live_output != "-"
          ? startFollower(*tool, session->traceDirectory(), *options->live_output)
      : to_file ? startOnStdout({*tool, "--follow", session->traceDirectory(), "-o", "-"})
                : startOnStdout({*tool, "--follow", session->traceDirectory()});
  if (!output.ok()) return refuse(std::string(output.status().message()));

  const int64_t end_at =
      options->duration_seconds
          ? monotonicMillis() + static_cast<int64_t>(*options->duration_seconds * 1000)
          : INT64_MAX;
  bool output_ended = false;
  int output_status = 0;
  for (;;) {
    const int64_t left = end_at - monotonicMillis();
    if (left <= 0) break;
    const int64_t wait = left < 1000 ? left : 1000;
    const timespec pause = {static_cast<time_t>(wait / 1000),
                            static_cast<long>(wait % 1000) * 1000000};
    siginfo_t info;
    const int sig = sigtimedwait(&ending, &info, &pause);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) break;
    if (waitpid(*output, &output_status, WNOHANG) == *output) {
      output_ended = true;
      break;
    }
  }
  session->withdrawRequest();
  if (!output_ended) {
    sleepMillis(kDetachGraceMillis);
    const FollowerEnd end = stopFollower(*output, kOutputGraceSeconds);
    output_status = end.status;
    if (end.killed) return refuse(absl::StrCat(*tool, " did not end in time: killed"));
  }
  // Ended by the SIGTERM it was sent, or on its own with status 0: fine.
  const bool output_ok =
      (WIFEXITED(output_status) && WEXITSTATUS(output_status) == 0) ||
      (!output_ended && WIFSIGNALED(output_status) && WTERMSIG(output_status) == SIGTERM);
  if (!output_ok) return refuse(absl::StrCat(*tool, " ended: ", describeWaitStatus(output_status)));
  return 0;
}

}  // namespace tapshim::launcher
