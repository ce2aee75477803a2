// tapshim: runs a program under libtapshim.so, with flags instead of TAP_*
// variables (see launcher_options.h for the command line). The program is
// exec'd in place of the launcher, so its exit status, signals and stdio are
// its own. The launcher's own failures are one line on stderr: exit 2 for
// the command line or a missing library, 127/126 (as shells) if the
// command cannot be found or run.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/launcher/attach_command.h"
#include "tools/launcher/compiled_install_layout.h"
#include "tools/launcher/directory_access.h"
#include "tools/launcher/launcher_options.h"
#include "tools/launcher/library_locator.h"
#include "tools/launcher/live_capture.h"
#include "tools/launcher/program_check.h"

#ifndef TAPSHIM_VERSION
#define TAPSHIM_VERSION "unknown"
#endif

namespace {

using namespace tapshim::launcher;

int fail(const std::string& message) {
  std::fprintf(stderr, "tapshim: %s\n", message.c_str());
  return 2;
}

std::string selfPath() {
  char buffer[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (length <= 0) return "";
  return std::string(buffer, static_cast<size_t>(length));
}

// The directory traces go to must exist and be writable: the shim creates
// none (as Envoy), and would only say so at the first connection.
std::optional<std::string> checkPrefixDirectory(const std::string& prefix) {
  const std::string dir = prefixDirectory(prefix);
  struct stat info;
  if (stat(dir.c_str(), &info) != 0) {
    return "-o " + prefix + ": directory " + dir + ": " + std::strerror(errno);
  }
  if (!S_ISDIR(info.st_mode)) return "-o " + prefix + ": " + dir + " is not a directory";
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return "-o " + prefix + ": directory " + dir + " is not writable";
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "attach") == 0) {
    const InstallLayout layout = compiledInstallLayout();
    return runAttach(argc - 1, argv + 1, layout);
  }
  absl::StatusOr<LauncherOptions> options = parseLauncherCommandLine(argc, argv);
  if (!options.ok()) {
    return fail(std::string(options.status().message()) + " (tapshim --help for usage)");
  }
  if (options->help) {
    std::fputs(kLauncherUsage, stdout);
    return 0;
  }
  if (options->version) {
    std::printf("tapshim %s\n", TAPSHIM_VERSION);
    return 0;
  }
  if (options->prefix) {
    if (std::optional<std::string> problem = checkPrefixDirectory(*options->prefix)) {
      return fail(*problem);
    }
  }
  if (options->runs_as) {
    // The check above was the launcher's own user's; a server that drops
    // its privileges creates its traces as another one.
    absl::StatusOr<RunsAs> user = lookUpUser(*options->runs_as);
    if (!user.ok()) return fail(std::string(user.status().message()));
    if (options->prefix) {
      const std::string dir = prefixDirectory(*options->prefix);
      if (std::optional<std::string> warning = refusedDirectory(dir, *user)) {
        std::fprintf(stderr, "tapshim: warning: -o %s: %s\n", options->prefix->c_str(),
                     warning->c_str());
      }
    }
  }
  const InstallLayout layout = compiledInstallLayout();
  absl::StatusOr<std::string> library = findLibrary(options->library, selfPath(), layout);
  if (!library.ok()) return fail(std::string(library.status().message()));

  const std::string& command = options->command[0];
  std::optional<std::string> program = resolveCommand(command, std::getenv("PATH"));
  if (program) {
    if (std::optional<std::string> reason = untappableReason(*program)) {
      std::fprintf(stderr, "tapshim: warning: %s\n", reason->c_str());
    }
  }

  // -w: the launcher stays, to run the capture beside the program.
  if (options->live_output) return runLiveCapture(*std::move(options), *library, layout);

  for (int i = 0; kLauncherVariables[i] != nullptr; ++i) unsetenv(kLauncherVariables[i]);
  for (const auto& [name, value] : environmentFor(*options)) {
    setenv(name.c_str(), value.c_str(), 1);
  }
  setenv("LD_PRELOAD", preloadValue(*library, std::getenv("LD_PRELOAD")).c_str(), 1);

  std::vector<char*> args;
  for (std::string& arg : options->command) args.push_back(arg.data());
  args.push_back(nullptr);
  execvp(args[0], args.data());
  const int error = errno;
  std::fprintf(stderr, "tapshim: %s: %s\n", command.c_str(), std::strerror(error));
  return error == ENOENT ? 127 : 126;
}
