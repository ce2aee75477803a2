#include "tap_core/sink/file_per_tap_sink.h"

#include <fcntl.h>
#include <limits.h>

#include <cerrno>

#include "tap_core/base/diagnostics.h"
#include "tap_core/base/load_time.h"
#include "tap_core/base/os.h"
#include "tap_core/sink/trace_file.h"

namespace tapshim::core {
TAPSHIM_LOAD_TIME FilePerTapSink::FilePerTapSink(std::string path_prefix, TraceIds& ids,
                                                 Clock& clock, DiskReserve::Setting reserve)
    : path_prefix_(std::move(path_prefix)),
      ids_(ids),
      clock_(clock),
      writer_(reserve, path_prefix_, clock) {
  // The sink's fds live just below the soft limit, far from the low
  // numbers programs use (and from select()'s 1024 when the limit is high).
  const long limit = os::openFileLimit();
  if (limit >= 4 * kMaxOpenStreams) reserved_base_ = static_cast<int>(limit) - kMaxOpenStreams;
}

KeptFile* FilePerTapSink::slotFor(int fd) {
  if (reserved_base_ < 0 || fd < reserved_base_ || fd >= reserved_base_ + kMaxOpenStreams) {
    return nullptr;
  }
  return &kept_[fd - reserved_base_];
}

int FilePerTapSink::keep(int fd) {
  if (reserved_base_ < 0) return fd;
  const long high = os::duplicateAtLeast(fd, reserved_base_);
  if (high < 0 || high >= reserved_base_ + kMaxOpenStreams) {
    if (high >= 0) os::closeFd(static_cast<int>(high));
    return fd;  // no room: used for one message at a time
  }
  os::closeFd(fd);
  slotFor(static_cast<int>(high))->keep(static_cast<int>(high), clock_);
  return static_cast<int>(high);
}

bool FilePerTapSink::slotsIn(unsigned first, unsigned last, size_t* from, size_t* to) const {
  if (reserved_base_ < 0) return false;
  const unsigned base = static_cast<unsigned>(reserved_base_);
  const unsigned top = base + kMaxOpenStreams - 1;
  if (last < base || first > top) return false;
  *from = (first > base ? first : base) - base;
  *to = (last < top ? last : top) - base;
  return true;
}

bool FilePerTapSink::keepsAnyOf(unsigned first, unsigned last) const {
  size_t from = 0, to = 0;
  if (!slotsIn(first, last, &from, &to)) return false;
  for (size_t slot = from; slot <= to; ++slot) {
    if (kept_[slot].kept()) return true;
  }
  return false;
}

void FilePerTapSink::programClosing(unsigned first, unsigned last) {
  size_t from = 0, to = 0;
  if (!slotsIn(first, last, &from, &to)) return;
  for (size_t slot = from; slot <= to; ++slot) kept_[slot].forget();
}

bool FilePerTapSink::keepsOpen(int token) const {
  return const_cast<FilePerTapSink*>(this)->slotFor(token) != nullptr;
}

int FilePerTapSink::reopen(uint64_t trace_id, std::string_view extension) {
  char path[PATH_MAX];
  if (!pathFor(trace_id, extension, path, sizeof(path))) return -1;
  const long fd = os::openFile(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0) {
    reportOnce(Problem::kTraceFileWrite,
               {"cannot reopen trace file ", path, ": ", os::errorText(static_cast<int>(-fd)),
                " (traces are being lost)"});
    return -1;
  }
  return keep(static_cast<int>(fd));
}

bool FilePerTapSink::pathFor(uint64_t trace_id, std::string_view extension, char* out,
                             size_t size) const {
  return traceFilePath(path_prefix_, trace_id, extension, out, size);
}

int FilePerTapSink::open(uint64_t* trace_id, std::string_view extension) {
  // Not kept: a buffered trace's file is written once and closed at once,
  // so moving its fd high and checking it would be wasted system calls. A
  // streamed trace, told keepsOpen() is false, closes it after its first
  // message and reopen()s it, kept, for the next.
  if (!writer_.mayCreate()) return -1;  // the writer said why
  const int fd = createTraceFile(path_prefix_, extension, trace_id, ids_);
  return fd < 0 ? -1 : fd;
}

bool FilePerTapSink::writeParts(int token, const iovec* parts, int count) {
  return writeMessage(token, parts, count, MessageWriter::Kind::kData);
}

bool FilePerTapSink::writeCutMark(int token, const iovec* parts, int count) {
  return writeMessage(token, parts, count, MessageWriter::Kind::kCutMark);
}

bool FilePerTapSink::writeMessage(int token, const iovec* parts, int count,
                                  MessageWriter::Kind kind) {
  if (KeptFile* slot = slotFor(token); slot != nullptr && !slot->stillOurs(token, clock_)) {
    // The program closed this fd (and may have opened something else
    // there): it is not ours to write to or close any more.
    return false;
  }
  // The file is this trace's alone (written under its connection's lock),
  // so the writer may find where it ends from its size.
  if (writer_.write(token, parts, count, kind, nullptr)) return true;
  close(token);
  return false;
}

uint64_t FilePerTapSink::room(int token, uint64_t wanted) { return writer_.room(token, wanted); }

void FilePerTapSink::discard(uint64_t trace_id, std::string_view extension) {
  char path[PATH_MAX];
  if (!pathFor(trace_id, extension, path, sizeof(path))) return;
  // Only an empty file: whatever holds a whole message stays.
  uint64_t size = 0;
  if (os::regularFileSize(path, &size) == 0 && size == 0) os::removeFile(path);
}

void FilePerTapSink::close(int token) {
  if (KeptFile* slot = slotFor(token)) slot->forget();
  os::closeFd(token);
}

}  // namespace tapshim::core
