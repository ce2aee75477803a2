// The shim's only voice: one line on stderr, at most once per kind of
// problem per process, so a failing disk never floods the host's logs.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace tapshim::core {

enum class Problem : uint8_t {
  kConfiguration,
  kTraceFileCreate,
  kTraceFileWrite,
  kTraceFileExists,
  kOutOfMemory,
  kFdOutOfRange,
  kMissingSymbol,
  kSecureExecution,
  kTlsInExecutable,
  kUnhookedTls,
  kStaticExec,
  kGoProgram,
  kUnseenBytes,
  kTraceFileSizeLimit,
  kDiskReserve,
  kBufferedTotal,  // TAP_MAX_BUFFERED_TOTAL_BYTES reached: events are cut
  kReentered,      // a hook ran inside the shim (a signal handler's I/O): a gap
  kKeyLogSizeLimit,
  kTlsPatch,         // the executable's own OpenSSL cannot be detoured at all
  kTlsPatchRefused,  // some of its functions were left alone
  kCount,
};

// Writes "tapshim: <parts...>\n" to fd 2 with one write(2), the first time
// `problem` is reported in this process; later reports are dropped.
// Returns true if the line was written.
bool reportOnce(Problem problem, std::initializer_list<std::string_view> parts);

// Forgets what was reported (tests; a forked child keeps its parent's record).
void resetReports();

}  // namespace tapshim::core
