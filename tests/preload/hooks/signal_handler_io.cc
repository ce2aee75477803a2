// A signal handler's socket I/O while the shim is at work on the same
// thread: the hook, re-entered inside the shim, must not take the shim's
// locks again, so the trace marks a gap, and the shim's line on stderr
// must name that cause (test_signal_handler_io.py checks both).
//
// The shim has to be interrupted at a known moment. So the program points
// its stderr at a pipe nobody reads and, for one close, moves the trace
// directory away: inside the hooked close() the shim cannot create the
// trace file and says so on stderr, and the kernel answers that write with
// SIGPIPE, whose handler (the program's) writes one byte on another tapped
// connection while the shim is still inside close().
//
//   signal_handler_io    run under the shim with TAP_PATH_PREFIX set;
//                        prints {"port": P} (the local port of the
//                        connection the handler wrote on) and exits 0, or
//                        names what went wrong and exits 1
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile sig_atomic_t g_in_close = 0;
volatile sig_atomic_t g_handler_in_close = 0;
volatile sig_atomic_t g_handler_sent = -1;
int g_handler_fd = -1;

void onSigpipe(int) {
  const int saved = errno;
  g_handler_in_close = g_in_close;
  g_handler_sent = static_cast<sig_atomic_t>(send(g_handler_fd, "!", 1, MSG_NOSIGNAL));
  errno = saved;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "signal_handler_io: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// A loopback connection: {client, server}.
void connectPair(int listener, int fds[2]) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  if (getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    die("getsockname");
  fds[0] = socket(AF_INET, SOCK_STREAM, 0);
  if (fds[0] < 0 || connect(fds[0], reinterpret_cast<sockaddr*>(&address), length) != 0) {
    die("connect");
  }
  fds[1] = accept(listener, nullptr, nullptr);
  if (fds[1] < 0) die("accept");
}

void readExactly(int fd, const std::string& expected) {
  std::string got;
  char buffer[64];
  while (got.size() < expected.size()) {
    const ssize_t n = read(fd, buffer, std::min(sizeof(buffer), expected.size() - got.size()));
    if (n <= 0) die("read");
    got.append(buffer, static_cast<size_t>(n));
  }
  if (got != expected) {
    errno = 0;
    die("read '" + got + "', expected '" + expected + "'");
  }
}

}  // namespace

int main() {
  const char* prefix = std::getenv("TAP_PATH_PREFIX");
  if (prefix == nullptr || std::strrchr(prefix, '/') == nullptr) {
    errno = EINVAL;
    die("TAP_PATH_PREFIX must name a directory");
  }
  const std::string directory(prefix, std::strrchr(prefix, '/'));
  const std::string away = directory + ".away";

  struct sigaction action {};
  action.sa_handler = onSigpipe;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGPIPE, &action, nullptr) != 0) die("sigaction");

  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener, 4) != 0) {
    die("listen");
  }
  int interrupted[2];  // the shim works inside its client's close
  int written[2];      // the handler writes on its client
  connectPair(listener, interrupted);
  connectPair(listener, written);
  g_handler_fd = written[0];
  if (write(written[0], "before", 6) != 6) die("write");
  readExactly(written[1], "before");

  // stderr to a pipe without a reader, the directory away: the shim's
  // line about the trace it cannot create raises SIGPIPE inside close().
  const int saved_stderr = dup(2);
  int pipe_fds[2];
  if (saved_stderr < 0 || pipe(pipe_fds) != 0) die("pipe");
  close(pipe_fds[0]);
  dup2(pipe_fds[1], 2);
  close(pipe_fds[1]);
  if (rename(directory.c_str(), away.c_str()) != 0) die("rename " + directory);
  g_in_close = 1;
  close(interrupted[0]);
  g_in_close = 0;
  if (rename(away.c_str(), directory.c_str()) != 0) die("rename " + away);
  dup2(saved_stderr, 2);
  close(saved_stderr);

  if (!g_handler_in_close) {
    errno = 0;
    die("SIGPIPE did not arrive inside close(): the shim wrote nothing on stderr there");
  }
  if (g_handler_sent != 1) die("the handler's send");
  readExactly(written[1], "!");

  sockaddr_in local{};
  socklen_t length = sizeof(local);
  getsockname(written[0], reinterpret_cast<sockaddr*>(&local), &length);
  std::printf("{\"port\": %d}\n", ntohs(local.sin_port));
  for (int fd : {interrupted[1], written[0], written[1], listener}) close(fd);
  return 0;
}
