// Where encoded trace messages go (Envoy's Sink / PerTapSinkHandle).
//
// Outputs are named by small integer tokens rather than handle objects so
// that opening one allocates nothing.
#pragma once

#include <cstdint>
#include <string_view>

namespace tapshim::core {

class Sink {
 public:
  virtual ~Sink() = default;
  // Opens the output of one trace and returns its token, or -1 (the sink
  // has said why on stderr). The sink may replace *trace_id when that id's
  // output already exists; the caller then encodes with the new id.
  virtual int open(uint64_t* trace_id, std::string_view extension) = 0;
  // Appends a whole message. False on failure (reported by the sink) or
  // when the output behind `token` is no longer the trace's (the program
  // closed the sink's fd). Either way the token is then gone: drop it
  // without close(), and reopen() to write more.
  virtual bool write(int token, std::string_view bytes) = 0;
  virtual void close(int token) = 0;

  // Streamed traces write many messages. Whether the output behind `token`
  // may stay open between messages; if not, close it after each message and
  // reopen() for the next (the sink bounds how many stay open).
  virtual bool keepsOpen(int /*token*/) const { return true; }
  // Opens the existing output of `trace_id` again, for appending; -1 when
  // it cannot.
  virtual int reopen(uint64_t /*trace_id*/, std::string_view /*extension*/) { return -1; }
};

}  // namespace tapshim::core
