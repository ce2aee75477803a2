#include "tools/extcap/capture_supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"

namespace tapshim::extcap {
namespace {

constexpr int kStopGraceSeconds = 15;
// How often to look for dumpcap's end of the FIFO before it is open.
constexpr int kFifoProbeMs = 100;

double monotonicSeconds() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

void writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t done = write(fd, data, size);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return;
    data += done;
    size -= static_cast<size_t>(done);
  }
}

// Splits the child's stderr into lines: tapshim's go to our stderr (that
// is, to Wireshark), the program's to `other_fd` (-1: dropped).
class OutputSorter {
 public:
  explicit OutputSorter(int other_fd) : other_fd_(other_fd) {}

  void take(const char* data, size_t size) {
    pending_.append(data, size);
    size_t start = 0;
    for (size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1) {
      emit(pending_.data() + start, end + 1 - start);
    }
    pending_.erase(0, start);
    // A program that never ends its line is not held in memory.
    if (pending_.size() > 65536) flush();
  }

  void flush() {
    if (!pending_.empty()) emit(pending_.data(), pending_.size());
    pending_.clear();
  }

 private:
  void emit(const char* line, size_t size) {
    const absl::string_view text(line, size);
    // `tapshim attach` says so when it is attached: news, not an error,
    // which is what Wireshark would make of it.
    if (absl::StartsWith(text, "tapshim attach: attached to ")) return;
    if (absl::StartsWith(text, "tapshim") || absl::StartsWith(text, "tap2pcap")) {
      writeAll(STDERR_FILENO, line, size);
    } else if (other_fd_ >= 0) {
      writeAll(other_fd_, line, size);
    }
  }

  int other_fd_;
  std::string pending_;
};

}  // namespace

int superviseCapture(const SupervisedCapture& capture) {
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&handled, sig);
  sigset_t previous;
  sigprocmask(SIG_BLOCK, &handled, &previous);
  const int signal_fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  // Wireshark may close our stderr before we are done with it.
  signal(SIGPIPE, SIG_IGN);

  int output_fd = -1;
  if (capture.program_output) {
    output_fd = open(capture.program_output->c_str(),
                     O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (output_fd < 0) {
      std::fprintf(stderr, "tapshim-extcap: --program-output %s: %s\n",
                   capture.program_output->c_str(), std::strerror(errno));
      return 1;
    }
  }
  int err_pipe[2] = {-1, -1};
  if (capture.sort_output && pipe2(err_pipe, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "tapshim-extcap: pipe: %s\n", std::strerror(errno));
    return 1;
  }

  std::vector<std::string> args = capture.argv;
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "tapshim-extcap: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (child == 0) {
    // A group of its own: Wireshark's signals come through us, and a child
    // that outstays the grace period is killed with everything it started.
    setpgid(0, 0);
    const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null_fd, STDIN_FILENO);
    dup2(output_fd >= 0 ? output_fd : null_fd, STDOUT_FILENO);
    if (err_pipe[1] >= 0) dup2(err_pipe[1], STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "tapshim-extcap: %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(child, child);
  if (err_pipe[1] >= 0) close(err_pipe[1]);

  OutputSorter sorter(output_fd);
  int fifo_fd = -1;
  bool stopping = false;
  double kill_at = 0;
  int status = 0;
  bool child_running = true;
  auto requestStop = [&] {
    if (stopping) return;
    stopping = true;
    kill(child, SIGTERM);
    kill_at = monotonicSeconds() + kStopGraceSeconds;
  };

  while (child_running) {
    // Our own write end of the FIFO, opened once dumpcap has its read end
    // open, tells when dumpcap closes it (POLLERR). We never write to it.
    if (fifo_fd < 0 && !stopping) {
      fifo_fd = open(capture.fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    }
    pollfd fds[3] = {{signal_fd, POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {fifo_fd, 0, 0}};
    const int timeout = stopping || fifo_fd < 0 ? kFifoProbeMs : -1;
    if (poll(fds, 3, timeout) < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      while (read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo != SIGCHLD) requestStop();
      }
      if (waitpid(child, &status, WNOHANG) == child) child_running = false;
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      char buffer[4096];
      const ssize_t got = read(err_pipe[0], buffer, sizeof(buffer));
      if (got > 0) {
        sorter.take(buffer, static_cast<size_t>(got));
      } else if (got == 0) {
        close(err_pipe[0]);
        err_pipe[0] = -1;
      }
    }
    if (fifo_fd >= 0 && (fds[2].revents & (POLLERR | POLLHUP))) {
      close(fifo_fd);
      fifo_fd = -1;
      requestStop();
    }
    if (stopping && child_running && monotonicSeconds() >= kill_at) {
      std::fprintf(stderr, "tapshim-extcap: %s did not stop within %d s of SIGTERM; killed\n",
                   capture.what.c_str(), kStopGraceSeconds);
      kill(-child, SIGKILL);
      kill_at = monotonicSeconds() + 3600;
    }
  }
  if (child_running) waitpid(child, &status, 0);
  // What the child said last; a grandchild that keeps the pipe open (a
  // daemon the program left behind) does not keep us here.
  if (err_pipe[0] >= 0) {
    fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
    char buffer[4096];
    for (ssize_t got; (got = read(err_pipe[0], buffer, sizeof(buffer))) > 0;) {
      sorter.take(buffer, static_cast<size_t>(got));
    }
  }
  sorter.flush();
  if (fifo_fd >= 0) close(fifo_fd);

  if (stopping) return 0;  // Wireshark's stop: whatever the child's end
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status)) {
    std::fprintf(stderr, "tapshim-extcap: %s exited with status %d\n", capture.what.c_str(),
                 WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "tapshim-extcap: %s was ended by signal %d (%s)\n", capture.what.c_str(),
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return 1;
}

}  // namespace tapshim::extcap
