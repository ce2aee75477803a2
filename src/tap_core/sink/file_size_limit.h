// The process's file size limit (RLIMIT_FSIZE, `ulimit -f`), which trace
// files are written under like any file of the program.
//
// A write that starts at or past the limit gets the process SIGXFSZ, whose
// default action kills it (exit status 153 from a shell); one that would
// cross it is cut short. So a trace message is written only when it ends
// within the limit, and tapshim never touches the program's signal
// disposition or mask to get around it.
//
// Asking costs a system call, as much as a small write on some kernels, so
// the limit is asked again at most every kRecheckNanos. A program that
// lowers its own limit below a trace file's size within that time could
// still meet SIGXFSZ on the shim's next message: the one case left.
#pragma once

#include <atomic>
#include <cstdint>

#include "tap_core/base/clock.h"

namespace tapshim::core {

class FileSizeLimit {
 public:
  static constexpr int64_t kRecheckNanos = 100'000'000;  // 100 ms
  static constexpr uint64_t kNone = UINT64_MAX;

  explicit FileSizeLimit(Clock& clock) : clock_(clock) {}

  // The soft limit in bytes; kNone when there is none, or when a seccomp
  // filter refuses the question (the shim then writes as it would without
  // a limit).
  uint64_t current();

 private:
  Clock& clock_;
  std::atomic<uint64_t> bytes_{kNone};
  std::atomic<int64_t> asked_at_{INT64_MIN};  // never
  std::atomic<bool> known_{false};            // bytes_ holds an answer
};

}  // namespace tapshim::core
