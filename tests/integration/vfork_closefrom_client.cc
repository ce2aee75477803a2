// A client whose vfork child closes every fd before it exits, as a
// hand-rolled spawn does (posix_spawn closes inside libc, out of the
// hooks' sight). The child has an fd table of its own but shares the
// parent's memory: the shim, told of the child's closefrom, must not give
// up the parent's kept trace file (a leaked fd, and a reopen, per spawn).
//
//   vfork_closefrom_client PORT TRACE_DIR
// Streams "one;" "two;" (the trace file is kept open from the second
// message), vforks a child that calls closefrom(3) and _exit(0), then
// "three;". Each message is checked against the server's echo. Prints
// trace_fds_before=N trace_fds_after=M: the fds open on files in TRACE_DIR.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

void talk(int fd, const std::string& word) {
  if (write(fd, word.data(), word.size()) != static_cast<ssize_t>(word.size())) die("write");
  std::string echo;
  char buffer[64];
  while (echo.size() < word.size()) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) die("read");
    echo.append(buffer, static_cast<size_t>(n));
  }
  if (echo != word) {
    std::fprintf(stderr, "echo differs\n");
    std::exit(1);
  }
}

int traceFds(const std::string& directory) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) die("opendir");
  int count = 0;
  while (dirent* entry = readdir(fds)) {
    char target[4096];
    const std::string link = std::string("/proc/self/fd/") + entry->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    if (std::strncmp(target, directory.c_str(), directory.size()) == 0) ++count;
  }
  closedir(fds);
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: vfork_closefrom_client PORT TRACE_DIR\n");
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) die("connect");
  talk(fd, "one;");
  talk(fd, "two;");
  const int before = traceFds(argv[2]);
  const pid_t child = vfork();
  if (child < 0) die("vfork");
  if (child == 0) {
    closefrom(3);
    _exit(0);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    die("child");
  }
  talk(fd, "three;");
  std::printf("trace_fds_before=%d trace_fds_after=%d\n", before, traceFds(argv[2]));
  close(fd);
  return 0;
}
