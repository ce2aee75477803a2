#include "tap_core/sink/file_per_process_sink.h"

#include <fcntl.h>
#include <limits.h>

#include <cstring>

#include "tap_core/base/diagnostics.h"
#include "tap_core/base/load_time.h"
#include "tap_core/base/os.h"
#include "tap_core/sink/trace_file.h"

namespace tapshim::core {
TAPSHIM_LOAD_TIME FilePerProcessSink::FilePerProcessSink(std::string path_prefix, TraceIds& ids,
                                                         Clock& clock, DiskReserve::Setting reserve)
    : path_prefix_(std::move(path_prefix)),
      ids_(ids),
      clock_(clock),
      writer_(reserve, path_prefix_, clock) {}

bool FilePerProcessSink::pathFor(uint64_t file_id, char* out, size_t size) const {
  return traceFilePath(path_prefix_, file_id, std::string_view(extension_, extension_size_), out,
                       size);
}

int FilePerProcessSink::publishLocked(int fd) {
  // Away from the low numbers the program expects.
  const long limit = os::openFileLimit();
  if (limit > 4 * kTopDistance) {
    const long high = os::duplicateAtLeast(fd, static_cast<int>(limit) - kTopDistance);
    if (high >= 0) {
      os::closeFd(fd);
      fd = static_cast<int>(high);
    }
  }
  file_.keep(fd, clock_);
  fd_.store(fd, std::memory_order_release);
  return fd;
}

int FilePerProcessSink::createLocked() {
  if (!writer_.mayCreate()) return -1;  // the writer said why
  uint64_t id = ids_.next();
  const int fd =
      createTraceFile(path_prefix_, std::string_view(extension_, extension_size_), &id, ids_);
  if (fd < 0) return -1;
  has_file_ = true;
  file_id_ = id;
  end_ = 0;
  return publishLocked(fd);
}

int FilePerProcessSink::reopenLocked() {
  char path[PATH_MAX];
  if (!pathFor(file_id_, path, sizeof(path))) return -1;
  const long fd = os::openFile(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (os::fileSize(static_cast<int>(fd), &end_) != 0) {
    os::closeFd(static_cast<int>(fd));
    return -1;
  }
  return publishLocked(static_cast<int>(fd));
}

int FilePerProcessSink::ensureFile(std::string_view extension, int lost) {
  LockGuard lock(mutex_);
  return ensureFileLocked(extension, lost);
}

int FilePerProcessSink::ensureFileLocked(std::string_view extension, int lost) {
  const int current = fd_.load(std::memory_order_acquire);
  if (current >= 0 && current != lost) return current;  // another thread did it
  if (current >= 0) {
    // The program closed our fd (and may have opened its own there): it is
    // not ours to write to or close.
    fd_.store(-1, std::memory_order_release);
  }
  if (!has_file_) {
    if (extension.size() > sizeof(extension_)) return -1;
    std::memcpy(extension_, extension.data(), extension.size());
    extension_size_ = extension.size();
    return createLocked();
  }
  // The same file again, by name; if it is gone, a new one.
  const int fd = reopenLocked();
  return fd >= 0 ? fd : createLocked();
}

int FilePerProcessSink::open(uint64_t* /*trace_id*/, std::string_view extension) {
  if (fd_.load(std::memory_order_acquire) >= 0) return kToken;
  return ensureFile(extension, -1) >= 0 ? kToken : -1;
}

int FilePerProcessSink::reopen(uint64_t trace_id, std::string_view extension) {
  return open(&trace_id, extension);
}

bool FilePerProcessSink::keepsAnyOf(unsigned first, unsigned last) const {
  const int fd = fd_.load(std::memory_order_acquire);
  return fd >= 0 && static_cast<unsigned>(fd) >= first && static_cast<unsigned>(fd) <= last &&
         file_.kept();
}

void FilePerProcessSink::programClosing(unsigned first, unsigned last) {
  if (keepsAnyOf(first, last)) file_.forget();
}

bool FilePerProcessSink::keepsOpen(int /*token*/) const { return true; }

void FilePerProcessSink::close(int /*token*/) {
  // The file is shared by every trace of the process: it stays open.
}

bool FilePerProcessSink::writeParts(int /*token*/, const iovec* parts, int count) {
  return writeMessage(parts, count, MessageWriter::Kind::kData);
}

bool FilePerProcessSink::writeCutMark(int /*token*/, const iovec* parts, int count) {
  return writeMessage(parts, count, MessageWriter::Kind::kCutMark);
}

bool FilePerProcessSink::writeMessage(const iovec* parts, int count, MessageWriter::Kind kind) {
  LockGuard lock(mutex_);
  int fd = fd_.load(std::memory_order_acquire);
  if (fd < 0 || !file_.stillOurs(fd, clock_)) {
    fd = ensureFileLocked(std::string_view(extension_, extension_size_), fd);
    if (fd < 0) {
      reportOnce(Problem::kTraceFileWrite,
                 {"cannot open the trace file again (traces are being lost)"});
      return false;
    }
  }
  // One writev(2) on an O_APPEND regular file: the kernel appends it whole
  // (writeAllParts goes on only after a short write, which a regular file
  // gives only when it runs out of space; the writer then takes the
  // message back, knowing from end_ where it began).
  return writer_.write(fd, parts, count, kind, &end_);
}

uint64_t FilePerProcessSink::room(int /*token*/, uint64_t wanted) {
  LockGuard lock(mutex_);
  const int fd = fd_.load(std::memory_order_acquire);
  return fd < 0 ? UINT64_MAX : writer_.room(fd, wanted);
}

void FilePerProcessSink::forgetAfterFork() {
  mutex_.reinitialize();
  const int fd = fd_.load(std::memory_order_relaxed);
  if (fd >= 0 && file_.stillOurs(fd, clock_)) {
    os::closeFd(fd);  // the child's copy; the parent's stays open
  }
  fd_.store(-1, std::memory_order_relaxed);
  file_.forget();
  has_file_ = false;
  file_id_ = 0;
  end_ = 0;
}

}  // namespace tapshim::core
