// The file system's file-creation cost, as a trace file per connection
// pays it: COUNT times open(O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC|O_APPEND,
// 0600), one SIZE-byte write, close. The files are removed afterwards
// (not timed).
//   bench_create DIR COUNT SIZE      prints us_per_file=U
#include <fcntl.h>

#include <string>
#include <vector>

#include "common.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench_create DIR COUNT SIZE\n");
    return 2;
  }
  const std::string dir = argv[1];
  const long count = bench::number(argv[2]);
  std::vector<char> data(static_cast<size_t>(bench::number(argv[3])), 'c');
  std::vector<std::string> paths;
  for (long i = 0; i < count; ++i) paths.push_back(dir + "/create_" + std::to_string(i) + ".pb");
  const double start = bench::now();
  for (const std::string& path : paths) {
    const int fd =
        open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) bench::die(path.c_str());
    bench::writeAll(fd, data.data(), data.size());
    close(fd);
  }
  const double seconds = bench::now() - start;
  for (const std::string& path : paths) unlink(path.c_str());
  std::printf("us_per_file=%.2f\n", seconds * 1e6 / static_cast<double>(count));
  return 0;
}
