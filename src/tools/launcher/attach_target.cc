#include "tools/launcher/attach_target.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace tapshim::launcher {
namespace {

// The whole of a /proc file, or nothing when it cannot be read.
std::optional<std::string> readProcFile(pid_t pid, const char* file, int* error) {
  const std::string path = absl::StrCat("/proc/", pid, "/", file);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = errno;
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    *error = errno;
    return std::nullopt;
  }
  return text.str();
}

bool isYes(absl::string_view value) {
  const std::string lower = absl::AsciiStrToLower(std::string(value));
  return lower == "1" || lower == "true" || lower == "yes";
}

}  // namespace

absl::StatusOr<AttachTarget> inspectTarget(pid_t pid) {
  AttachTarget target;
  target.pid = pid;
  int error = 0;
  std::optional<std::string> status = readProcFile(pid, "status", &error);
  if (!status) {
    return absl::NotFoundError(absl::StrCat("no process ", pid));
  }
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (line.rfind("Name:", 0) == 0) {
      target.name = std::string(absl::StripAsciiWhitespace(line.substr(5)));
    } else if (line.rfind("Uid:", 0) == 0) {
      std::vector<absl::string_view> ids =
          absl::StrSplit(line.substr(4), absl::ByAnyChar(" \t"), absl::SkipEmpty());
      unsigned euid = 0;
      if (ids.size() >= 2 && absl::SimpleAtoi(ids[1], &euid)) target.euid = euid;
    }
  }
  // maps and environ need the right to ptrace-read the process: another
  // user's process (without root) is refused before they are read.
  std::optional<std::string> maps = readProcFile(pid, "maps", &error);
  if (maps) target.has_library = maps->find("libtapshim.so") != std::string::npos;
  std::optional<std::string> environ_text = readProcFile(pid, "environ", &error);
  if (environ_text) {
    for (absl::string_view entry : absl::StrSplit(*environ_text, '\0')) {
      const size_t equals = entry.find('=');
      if (equals == absl::string_view::npos) continue;
      const absl::string_view name = entry.substr(0, equals);
      const absl::string_view value = entry.substr(equals + 1);
      if (name == "TAP_STANDBY") {
        target.standby = target.standby || isYes(value);
        if (!isYes(value)) target.standby_explicitly_off = true;
      } else if (name == "TAP_CONFIG") {
        target.standby = true;  // its admin_config is the process's to read
      } else if (name == "TAP_PATH_PREFIX") {
        target.standby_explicitly_off = true;
      } else if (name == "XDG_RUNTIME_DIR") {
        target.runtime_dir = std::string(value);
      }
    }
  }
  if (!maps || !environ_text) {
    target.unreadable =
        absl::StrCat("/proc/", pid, "/", maps ? "environ" : "maps", ": ", std::strerror(error));
  }
  return target;
}

}  // namespace tapshim::launcher
