// Start-up cost: runs a program COUNT times under each of several sets of
// extra environment variables (posix_spawn + waitpid), one process of each
// set in turn, and prints each set's median wall time per process.
//   bench_spawn COUNT PROGRAM SET...   prints us_0=U us_1=U ...
// A SET is one argument of NAME=VALUE settings separated by spaces ("" for
// none). Taking the sets in turn, process by process, lets a slow phase of
// the machine (a VM's neighbours) hit them alike; the median ignores the
// few processes it stalls.
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common.h"

extern char** environ;

namespace {

struct Settings {
  std::vector<std::string> storage;
  std::vector<char*> environment;  // environ, then the set's settings
};

Settings parseSet(const char* text) {
  Settings set;
  std::string all(text);
  size_t at = 0;
  while (at < all.size()) {
    const size_t end = std::min(all.find(' ', at), all.size());
    if (end > at) set.storage.push_back(all.substr(at, end - at));
    at = end + 1;
  }
  for (char** entry = environ; *entry != nullptr; ++entry) set.environment.push_back(*entry);
  for (std::string& setting : set.storage) set.environment.push_back(setting.data());
  set.environment.push_back(nullptr);
  return set;
}

double runOnce(const char* program, Settings& set) {
  char* child_argv[] = {const_cast<char*>(program), nullptr};
  const double start = bench::now();
  pid_t pid = 0;
  const int error =
      posix_spawn(&pid, program, nullptr, nullptr, child_argv, set.environment.data());
  if (error != 0) {
    errno = error;
    bench::die("posix_spawn");
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s failed\n", program);
    std::exit(1);
  }
  return bench::now() - start;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: bench_spawn COUNT PROGRAM SET...\n");
    return 2;
  }
  const long count = bench::number(argv[1]);
  if (count < 1) {
    std::fprintf(stderr, "COUNT must be at least 1\n");
    return 2;
  }
  const char* program = argv[2];
  std::vector<Settings> sets;
  for (int i = 3; i < argc; ++i) sets.push_back(parseSet(argv[i]));
  std::vector<std::vector<double>> times(sets.size());
  for (long round = 0; round < count; ++round) {
    for (size_t i = 0; i < sets.size(); ++i) times[i].push_back(runOnce(program, sets[i]));
  }
  for (size_t i = 0; i < sets.size(); ++i) {
    std::vector<double>& samples = times[i];
    std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
    std::printf("%sus_%zu=%.2f", i == 0 ? "" : " ", i, samples[samples.size() / 2] * 1e6);
  }
  std::printf("\n");
  return 0;
}
