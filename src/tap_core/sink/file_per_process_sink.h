// TAP_SINK=file_per_process: every trace of the process appended, whole
// messages, to ONE file "<path_prefix>_<file_id><extension>", for programs
// with high connection churn, where creating a file per connection (Envoy's
// file_per_tap) costs more than the connection itself.
//
// - The file id is drawn like a trace id (TraceIds::next(): the process's
//   random high half and the next counter value), so no trace of any
//   process sharing the prefix has it, and a forked child, which draws a new
//   high half, names its own file. Each trace inside keeps its own trace id;
//   readers group the messages by it.
// - The file is created lazily, at the first message (a process that taps
//   no connection leaves no file), O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC|
//   O_APPEND, mode 0600; a name that is taken moves the file to the next id.
//   Its fd is moved to the top of the fd range, as FilePerTapSink's
//   streamed fds are.
// - Messages never interleave: each goes to the kernel in one write(2) or
//   writev(2) on the O_APPEND fd, which Linux performs atomically for regular files
//   (the inode lock is held for the whole write).
// - Messages are written whole or not at all (message_writer.h: the file
//   size limit, a full disk, the disk reserve). Taking back a message that
//   failed part way needs to know where it began, which concurrent appends
//   would hide; so writing holds the sink's lock, and the sink knows where
//   the file ends. That costs an uncontended lock per message: the kernel
//   holds the inode lock for the write anyway, so threads wait no longer.
// - If the program closes the fd (programClosing(), from the hooks) or it
//   no longer is the file (KeptFile's periodic check), the file is opened
//   again by name (appending) and the program's new fd is left alone.
// - There is one output, so every open() hands out the same token and
//   close() does nothing: the fd stays open until the process ends.
// - fork: the child forgets (and closes its copy of) the parent's fd and
//   starts a file of its own at its first message (forgetAfterFork()).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "tap_core/base/clock.h"
#include "tap_core/base/lock.h"
#include "tap_core/sink/disk_reserve.h"
#include "tap_core/sink/kept_file.h"
#include "tap_core/sink/message_writer.h"
#include "tap_core/sink/sink.h"
#include "tap_core/trace/trace_ids.h"

namespace tapshim::core {

class FilePerProcessSink final : public Sink {
 public:
  // The one token every open() returns.
  static constexpr int kToken = 0;
  // The file's fd goes at or above (soft RLIMIT_NOFILE - kTopDistance).
  static constexpr int kTopDistance = 8;

  FilePerProcessSink(std::string path_prefix, TraceIds& ids, Clock& clock,
                     DiskReserve::Setting reserve = {});

  // Sink
  int open(uint64_t* trace_id, std::string_view extension) override;
  bool writeParts(int token, const iovec* parts, int count) override;
  void close(int token) override;
  bool keepsOpen(int token) const override;
  int reopen(uint64_t trace_id, std::string_view extension) override;
  bool keepsAnyOf(unsigned first, unsigned last) const override;
  void programClosing(unsigned first, unsigned last) override;
  uint64_t room(int token, uint64_t wanted) override;
  bool writeCutMark(int token, const iovec* parts, int count) override;

  // In a forked child (single-threaded): closes the child's copy of the
  // parent's fd (if it still is the file) and forgets the file, so that the
  // child's first message creates a file of its own.
  void forgetAfterFork();

  // The current file's fd (-1 before the first message) and id; for tests.
  int fdForTesting() const { return fd_.load(std::memory_order_acquire); }
  uint64_t fileIdForTesting() const { return file_id_; }
  MessageWriter& writerForTesting() { return writer_; }

 private:
  static constexpr size_t kMaxExtension = 32;

  // Creates the file if there is none (or opens it again by name after
  // the program closed its fd `lost`); returns the fd to write to or -1.
  int ensureFile(std::string_view extension, int lost);
  int ensureFileLocked(std::string_view extension, int lost);
  bool writeMessage(const iovec* parts, int count, MessageWriter::Kind kind);
  int createLocked();
  int reopenLocked();
  int publishLocked(int fd);
  bool pathFor(uint64_t file_id, char* out, size_t size) const;

  std::string path_prefix_;
  TraceIds& ids_;
  Clock& clock_;
  Mutex mutex_;  // creating, re-opening and writing the file
  std::atomic<int> fd_{-1};
  KeptFile file_;          // the file behind fd_ (kept before fd_ is published)
  bool has_file_ = false;  // a file was created (its name is file_id_)
  uint64_t file_id_ = 0;
  MessageWriter writer_;
  uint64_t end_ = 0;  // where the file ends (under mutex_)
  char extension_[kMaxExtension] = {};
  size_t extension_size_ = 0;
};

}  // namespace tapshim::core
