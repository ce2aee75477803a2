#include "tap_core/sink/trace_file.h"

#include <fcntl.h>
#include <limits.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <iterator>
#include <string>

#include "tap_core/base/diagnostics.h"
#include "tap_core/base/os.h"

namespace tapshim::core {
namespace {

constexpr int kMaxNameAttempts = 8;

}  // namespace

bool traceFilePath(std::string_view prefix, uint64_t id, std::string_view extension, char* out,
                   size_t size) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof(digits), id);
  const size_t digit_count = static_cast<size_t>(end - digits);
  const size_t length = prefix.size() + 1 + digit_count + extension.size();
  if (error != std::errc() || length + 1 > size) return false;
  char* next = out;
  std::memcpy(next, prefix.data(), prefix.size());
  next += prefix.size();
  *next++ = '_';
  std::memcpy(next, digits, digit_count);
  next += digit_count;
  std::memcpy(next, extension.data(), extension.size());
  next += extension.size();
  *next = '\0';
  return true;
}

namespace {

// " (as uid U, gid G": whose access the kernel refused.
std::string_view describeUser(char (&out)[48]) {
  char* next = out;
  auto add = [&](std::string_view text) {
    std::memcpy(next, text.data(), text.size());
    next += text.size();
  };
  add(" (as uid ");
  next = std::to_chars(next, std::end(out), os::effectiveUserId()).ptr;
  add(", gid ");
  next = std::to_chars(next, std::end(out), os::effectiveGroupId()).ptr;
  return {out, static_cast<size_t>(next - out)};
}

// The directory a trace file goes to: what the refused user needs to write.
std::string_view directoryOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

int createTraceFile(std::string_view prefix, std::string_view extension, uint64_t* id,
                    TraceIds& ids) {
  char path[PATH_MAX];
  for (int attempt = 0; attempt < kMaxNameAttempts; ++attempt) {
    if (!traceFilePath(prefix, *id, extension, path, sizeof(path))) {
      reportOnce(Problem::kTraceFileCreate, {"trace path too long for prefix '", prefix, "'"});
      return -1;
    }
    const long fd =
        os::openFile(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) return static_cast<int>(fd);
    if (fd == -EEXIST) {
      reportOnce(Problem::kTraceFileExists,
                 {"trace file ", path, " already exists; writing under a new id"});
      *id = ids.next();
      continue;
    }
    // A server that dropped its privileges (apache's workers as www-data)
    // is refused a directory its start-up user could write: say who asked,
    // and where that user must be let in.
    const std::string_view error = os::errorText(static_cast<int>(-fd));
    if (fd == -EACCES || fd == -EPERM) {
      char user[48];
      reportOnce(Problem::kTraceFileCreate,
                 {"cannot create trace file ", path, ": ", error, describeUser(user),
                  ", who must be able to create files in ", directoryOf(path),
                  ") (traces are being lost)"});
    } else {
      reportOnce(Problem::kTraceFileCreate,
                 {"cannot create trace file ", path, ": ", error, " (traces are being lost)"});
    }
    return -1;
  }
  return -1;
}

}  // namespace tapshim::core
