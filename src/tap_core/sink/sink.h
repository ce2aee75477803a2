// src/tap_core/sink/: where encoded messages go. The Sink interface (this
// file) and its two file sinks, Envoy's file_per_tap and the per-process
// file (file_per_tap_sink.h, file_per_process_sink.h), with what they share:
// creating a trace file safely (trace_file.h: O_EXCL, O_NOFOLLOW, 0600),
// keeping its fd high and valid (kept_file.h), and writing each message
// whole or not at all (message_writer.h), within the file size limit
// (file_size_limit.h) and the disk reserve (disk_reserve.h). Sinks take
// bytes, never know formats; they use trace/ (ids) and base/.
//
// Where encoded trace messages go (Envoy's Sink / PerTapSinkHandle).
//
// Outputs are named by small integer tokens rather than handle objects so
// that opening one allocates nothing.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string_view>

namespace tapshim::core {

class Sink {
 public:
  // The most parts one message may come in (IOV_MAX).
  static constexpr int kMaxParts = 1024;

  virtual ~Sink() = default;
  // Opens the output of one trace and returns its token, or -1 (the sink
  // has said why on stderr). The sink may replace *trace_id when that id's
  // output already exists; the caller then encodes with the new id.
  virtual int open(uint64_t* trace_id, std::string_view extension) = 0;
  // Appends a whole message given as `count` parts (1 to kMaxParts), in
  // order, never interleaved with another message: a message can point at
  // the program's own bytes instead of copying them. False on failure
  // (reported by the sink) or when the output behind `token` is no longer
  // the trace's (the program closed the sink's fd). Either way the token
  // is then gone: drop it without close(), and reopen() to write more.
  virtual bool writeParts(int token, const iovec* parts, int count) = 0;
  bool write(int token, std::string_view bytes) {
    const iovec part{const_cast<char*>(bytes.data()), bytes.size()};
    return writeParts(token, &part, 1);
  }
  virtual void close(int token) = 0;

  // Limits on files (RLIMIT_FSIZE, a full disk, the disk reserve): a
  // message that cannot be written whole is not written at all, so an
  // output always ends at a whole message (writeParts then fails).
  //
  // The most bytes a message of `wanted` bytes may take in the output
  // behind `token`; UINT64_MAX when nothing limits it. When it is less, the
  // sink has said why, and a buffered trace is cut to fit.
  virtual uint64_t room(int /*token*/, uint64_t /*wanted*/) { return UINT64_MAX; }
  // writeParts for the small message that says a streamed trace was cut (a
  // gap event): it may use the room a file size limit keeps back from other
  // messages, and goes while the disk reserve stops them.
  virtual bool writeCutMark(int token, const iovec* parts, int count) {
    return writeParts(token, parts, count);
  }
  // The output of `trace_id` holds no whole message (its first one could
  // not be written): remove it, so that no empty file is left behind.
  virtual void discard(uint64_t /*trace_id*/, std::string_view /*extension*/) {}

  // Streamed traces write many messages. Whether the output behind `token`
  // may stay open between messages; if not, close it after each message and
  // reopen() for the next (the sink bounds how many stay open).
  virtual bool keepsOpen(int /*token*/) const { return true; }
  // Opens the existing output of `trace_id` again, for appending; -1 when
  // it cannot.
  virtual int reopen(uint64_t /*trace_id*/, std::string_view /*extension*/) { return -1; }

  // Whether any of fds first..last is one the sink keeps open. Asked on
  // every close of the program, so it must cost next to nothing.
  virtual bool keepsAnyOf(unsigned /*first*/, unsigned /*last*/) const { return false; }
  // The program is about to close fds first..last (close, close_range,
  // closefrom, or dup2 onto one): those of the sink's own among them are
  // not the sink's any more, to write to or to close.
  virtual void programClosing(unsigned /*first*/, unsigned /*last*/) {}
};

}  // namespace tapshim::core
