// Start-up cost: runs a program COUNT times (posix_spawn + waitpid) with
// extra environment variables, and prints the mean wall time per process.
//   bench_spawn COUNT PROGRAM [NAME=VALUE...]   prints us_per_process=U
#include <spawn.h>
#include <sys/wait.h>

#include <vector>

#include "common.h"

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_spawn COUNT PROGRAM [NAME=VALUE...]\n");
    return 2;
  }
  const long count = bench::number(argv[1]);
  std::vector<char*> env;
  for (char** entry = environ; *entry != nullptr; ++entry) env.push_back(*entry);
  for (int i = 3; i < argc; ++i) env.push_back(argv[i]);
  env.push_back(nullptr);
  char* child_argv[] = {argv[2], nullptr};
  const double start = bench::now();
  for (long i = 0; i < count; ++i) {
    pid_t pid = 0;
    const int error = posix_spawn(&pid, argv[2], nullptr, nullptr, child_argv, env.data());
    if (error != 0) {
      errno = error;
      bench::die("posix_spawn");
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "%s failed\n", argv[2]);
      return 1;
    }
  }
  std::printf("us_per_process=%.2f\n", (bench::now() - start) * 1e6 / static_cast<double>(count));
  return 0;
}
