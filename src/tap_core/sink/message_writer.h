// Appending one message to a trace file whole, or not at all: what both
// file sinks do with every message, so that a reader never meets half a
// record written by tapshim, and the program never meets SIGXFSZ.
//
// - The file size limit (RLIMIT_FSIZE): a message that would end past it is
//   not written, since a write that starts at the limit gets the process
//   SIGXFSZ (file_size_limit.h). Data messages stop kMarkRoom short of the
//   limit: that room is kept for the small message that says a streamed
//   trace was cut there (Kind::kCutMark).
// - The disk reserve (disk_reserve.h): below it, data messages and new
//   files are refused; cut marks still go (a few hundred bytes at most,
//   once per cut trace), so the trace can say it was cut.
// - A write that fails part way (a full disk, an I/O error) is taken back:
//   the file is truncated to where the message began. That is safe because
//   a trace file has one writer: a file_per_tap file is written only by its
//   connection, under that connection's lock, and the per-process file
//   only under its sink's lock and by one process (a forked child closes
//   its copy). The caller passes where the file ended when it knows it
//   (`end`); the truncation is then made only if the file ends exactly where
//   the failed write left it, so that a message another process appended
//   meanwhile (a child made by a raw clone(2), which runs no fork handler)
//   is never cut instead: that file is left as it is, and said to be cut.
// Each refusal and failure is said on stderr once per kind per process.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string_view>

#include "tap_core/base/clock.h"
#include "tap_core/sink/disk_reserve.h"
#include "tap_core/sink/file_size_limit.h"

namespace tapshim::core {

class MessageWriter {
 public:
  // Kept under the file size limit for the message that marks a cut: a
  // gap event of each direction in the largest format (JSON, with the
  // connection in every event) takes less.
  static constexpr uint64_t kMarkRoom = 1024;

  enum class Kind : uint8_t { kData, kCutMark };

  MessageWriter(DiskReserve::Setting reserve, std::string_view path_prefix, Clock& clock);

  // Whether a new trace file may be created now: the disk reserve is there
  // and the file size limit leaves room for a data message.
  bool mayCreate();
  // The most bytes a data message appended to `fd` may take (UINT64_MAX
  // when no limit applies); when `wanted` is more, says so once.
  uint64_t room(int fd, uint64_t wanted);
  // Appends the message whole, or leaves the file as it was (see above).
  // `end`: where the file ends now, if the caller knows it; advanced by
  // what was written. False when the message was refused or failed.
  bool write(int fd, const iovec* parts, int count, Kind kind, uint64_t* end);

  DiskReserve& reserveForTesting() { return reserve_; }

 private:
  void reportLimit(uint64_t limit) const;
  // After a write that failed with `written` bytes of the message in the
  // file: cuts them off again.
  void takeBack(int fd, size_t written, uint64_t* end) const;

  DiskReserve reserve_;
  FileSizeLimit limit_;
};

}  // namespace tapshim::core
