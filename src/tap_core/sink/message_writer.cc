#include "tap_core/sink/message_writer.h"

#include <charconv>
#include <iterator>

#include "tap_core/base/diagnostics.h"
#include "tap_core/base/load_time.h"
#include "tap_core/base/os.h"

namespace tapshim::core {

TAPSHIM_LOAD_TIME MessageWriter::MessageWriter(DiskReserve::Setting reserve,
                                               std::string_view path_prefix, Clock& clock)
    : reserve_(reserve, path_prefix, clock), limit_(clock) {}

bool MessageWriter::mayCreate() {
  const uint64_t limit = limit_.current();
  if (limit != FileSizeLimit::kNone && limit <= kMarkRoom) {
    reportLimit(limit);
    return false;
  }
  return reserve_.allows(0);
}

uint64_t MessageWriter::room(int fd, uint64_t wanted) {
  const uint64_t limit = limit_.current();
  if (limit == FileSizeLimit::kNone) return UINT64_MAX;
  uint64_t size = 0;
  if (os::fileSize(fd, &size) != 0) return 0;
  const uint64_t room = limit > size + kMarkRoom ? limit - size - kMarkRoom : 0;
  if (wanted > room) reportLimit(limit);
  return room;
}

bool MessageWriter::write(int fd, const iovec* parts, int count, Kind kind, uint64_t* end) {
  uint64_t total = 0;
  for (int i = 0; i < count; ++i) total += parts[i].iov_len;
  if (kind == Kind::kData && !reserve_.allows(total)) return false;  // the reserve said why
  const uint64_t limit = limit_.current();
  if (limit != FileSizeLimit::kNone) {
    // The file's own size, not `end`: another process's appends (see
    // above) must not make the message cross the limit. Unknown size under
    // a limit: not written, rather than risk SIGXFSZ.
    uint64_t size = 0;
    const uint64_t kept_back = kind == Kind::kData ? kMarkRoom : 0;
    if (os::fileSize(fd, &size) != 0 || size + total + kept_back > limit) {
      reportLimit(limit);
      return false;
    }
  }
  size_t written = 0;
  const long result = os::writeAllParts(fd, parts, count, &written);
  if (result == 0) {
    if (end != nullptr) *end += total;
    return true;
  }
  if (written > 0) takeBack(fd, written, end);
  reportOnce(Problem::kTraceFileWrite,
             {"cannot write a trace file: ", os::errorText(static_cast<int>(-result)),
              " (traces are cut)"});
  return false;
}

void MessageWriter::takeBack(int fd, size_t written, uint64_t* end) const {
  uint64_t size = 0;
  if (os::fileSize(fd, &size) != 0 || size < written) return;
  // With `end` known, the failed write must be the file's last bytes:
  // anything after them is another writer's, and is not cut off.
  const bool last = end == nullptr || size == *end + written;
  if (last && os::truncateFile(fd, size - written) == 0) size -= written;
  if (end != nullptr) *end = size;
}

void MessageWriter::reportLimit(uint64_t limit) const {
  char bytes[24];
  const auto result = std::to_chars(bytes, std::end(bytes), limit);
  reportOnce(Problem::kTraceFileSizeLimit,
             {"a trace file reached the file size limit (RLIMIT_FSIZE, ",
              std::string_view(bytes, static_cast<size_t>(result.ptr - bytes)),
              " bytes): traces are cut there"});
}

}  // namespace tapshim::core
