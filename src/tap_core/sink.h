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
  // Appends a whole message. False on failure (reported by the sink).
  virtual bool write(int token, std::string_view bytes) = 0;
  virtual void close(int token) = 0;
};

}  // namespace tapshim::core
