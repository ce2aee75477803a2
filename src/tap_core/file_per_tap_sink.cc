#include "tap_core/file_per_tap_sink.h"

#include <fcntl.h>
#include <limits.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "tap_core/diagnostics.h"
#include "tap_core/os.h"

namespace tapshim::core {
namespace {

constexpr int kMaxNameAttempts = 8;

}  // namespace

FilePerTapSink::FilePerTapSink(std::string path_prefix, TraceIds& ids)
    : path_prefix_(std::move(path_prefix)), ids_(ids) {}

bool FilePerTapSink::pathFor(uint64_t trace_id, std::string_view extension, char* out,
                             size_t size) const {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof(digits), trace_id);
  const size_t digit_count = static_cast<size_t>(end - digits);
  const size_t length = path_prefix_.size() + 1 + digit_count + extension.size();
  if (error != std::errc() || length + 1 > size) return false;
  char* next = out;
  std::memcpy(next, path_prefix_.data(), path_prefix_.size());
  next += path_prefix_.size();
  *next++ = '_';
  std::memcpy(next, digits, digit_count);
  next += digit_count;
  std::memcpy(next, extension.data(), extension.size());
  next += extension.size();
  *next = '\0';
  return true;
}

int FilePerTapSink::open(uint64_t* trace_id, std::string_view extension) {
  char path[PATH_MAX];
  for (int attempt = 0; attempt < kMaxNameAttempts; ++attempt) {
    if (!pathFor(*trace_id, extension, path, sizeof(path))) {
      reportOnce(Problem::kTraceFileCreate, {"trace path too long for prefix '", path_prefix_, "'"});
      return -1;
    }
    const long fd = os::openFile(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) return static_cast<int>(fd);
    if (fd == -EEXIST) {
      reportOnce(Problem::kTraceFileExists,
                 {"trace file ", path, " already exists; writing under a new trace id"});
      *trace_id = ids_.next();
      continue;
    }
    reportOnce(Problem::kTraceFileCreate,
               {"cannot create trace file ", path, ": ", os::errorText(static_cast<int>(-fd)),
                " (traces are being lost)"});
    return -1;
  }
  return -1;
}

bool FilePerTapSink::write(int token, std::string_view bytes) {
  const long result = os::writeAll(token, bytes.data(), bytes.size());
  if (result == 0) return true;
  reportOnce(Problem::kTraceFileWrite, {"cannot write a trace file: ",
                                        os::errorText(static_cast<int>(-result)),
                                        " (traces are being lost)"});
  return false;
}

void FilePerTapSink::close(int token) { os::closeFd(token); }

}  // namespace tapshim::core
