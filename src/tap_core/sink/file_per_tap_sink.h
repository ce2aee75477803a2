// Envoy's file_per_tap sink: each trace in its own file,
// "<path_prefix>_<trace_id><extension>".
//
// Traces hold secrets, so files are created O_CREAT|O_EXCL|O_NOFOLLOW with
// mode 0600: an existing file or symlink is never followed or overwritten.
// When the name is taken, the trace moves to a fresh id.
//
// Streamed traces keep their file open (from their second message on), on
// an fd moved to the top of the fd range (a program that expects the lowest free numbers never
// meets it), at most kMaxOpenStreams at a time; beyond that a file is opened for each message. A
// kept fd that the program closes (programClosing()) or that no longer is the file (KeptFile) is
// given up and the file opened again by name: a program that closes every fd and opens its own must
// never receive trace bytes.
//
// Messages are written whole or not at all (message_writer.h: the file size limit, a full disk, the
// disk reserve); a trace whose first message cannot be written leaves no file (discard()).
#pragma once

#include <string>

#include "tap_core/base/clock.h"
#include "tap_core/sink/disk_reserve.h"
#include "tap_core/sink/kept_file.h"
#include "tap_core/sink/message_writer.h"
#include "tap_core/sink/sink.h"
#include "tap_core/trace/trace_ids.h"

namespace tapshim::core {

class FilePerTapSink final : public Sink {
 public:
  static constexpr size_t kMaxPrefixLength = 4000;

  FilePerTapSink(std::string path_prefix, TraceIds& ids, Clock& clock,
                 DiskReserve::Setting reserve = {});

  static constexpr int kMaxOpenStreams = 64;

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
  void discard(uint64_t trace_id, std::string_view extension) override;

  // "<prefix>_<id><extension>" into `out` (NUL-terminated). Returns false
  // when it does not fit.
  bool pathFor(uint64_t trace_id, std::string_view extension, char* out, size_t size) const;

  MessageWriter& writerForTesting() { return writer_; }

 private:
  bool writeMessage(int token, const iovec* parts, int count, MessageWriter::Kind kind);
  // Moves a new file's fd to the reserved top range and records its
  // identity there; returns the fd to use.
  int keep(int fd);
  KeptFile* slotFor(int fd);
  // The slots of fds [first, last] that lie in the reserved range, as
  // [*from, *to]; false when none does.
  bool slotsIn(unsigned first, unsigned last, size_t* from, size_t* to) const;

  std::string path_prefix_;
  TraceIds& ids_;
  Clock& clock_;
  MessageWriter writer_;
  // fds [reserved_base_, reserved_base_ + kMaxOpenStreams) are the sink's;
  // -1 when the fd limit leaves no room for them.
  int reserved_base_ = -1;
  KeptFile kept_[kMaxOpenStreams];  // a slot not kept() is free
};

}  // namespace tapshim::core
