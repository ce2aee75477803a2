// TAP_DISK_RESERVE: the free space tapshim leaves on the file system that
// holds its traces, so that tracing never fills the disk the program (or
// the rest of the system) needs.
//
// While the file system has less free space (statfs's f_bavail: what an
// unprivileged process may still use) than the reserve, no trace file is
// created and no streamed message written; the first time, one line on
// stderr says so. Writing resumes when space returns. The small message
// that marks a streamed trace as cut is still allowed (see Sink).
//
// Free space is asked at most every kRecheckNanos, or sooner once half the
// reserve (at least kMinCheckBytes, at most kMaxCheckBytes) was written
// since the last look, so that a fast writer cannot run through the
// reserve between two looks; never per message.
#pragma once

#include <limits.h>

#include <atomic>
#include <cstdint>
#include <string_view>

#include "tap_core/base/clock.h"

namespace tapshim::core {

class DiskReserve {
 public:
  // Bytes, or a percentage of the file system's size; both 0: no reserve
  // (free space is never asked).
  struct Setting {
    uint64_t bytes = 0;
    uint32_t percent = 0;
  };

  // Where free space is learnt: statfs(2) of the traces' directory. A seam
  // for tests.
  class SpaceSource {
   public:
    virtual ~SpaceSource() = default;
    // 0 or -errno.
    virtual long query(const char* directory, uint64_t* available, uint64_t* total) = 0;
  };

  static constexpr int64_t kRecheckNanos = 100'000'000;  // 100 ms
  static constexpr uint64_t kMinCheckBytes = 64 * 1024;
  static constexpr uint64_t kMaxCheckBytes = 64 * 1024 * 1024;

  // `path_prefix` is TAP_PATH_PREFIX: the reserve applies to the file
  // system of its directory.
  DiskReserve(Setting setting, std::string_view path_prefix, Clock& clock);

  // Whether `bytes` may be written now (0 for creating a file): free space
  // was at or above the reserve at the last look, taken again if it is due.
  bool allows(uint64_t bytes);

  // Takes free space from `source` from now on (tests).
  void useSourceForTesting(SpaceSource* source) { source_ = source; }
  const char* directory() const { return directory_; }

 private:
  class Statfs final : public SpaceSource {
   public:
    long query(const char* directory, uint64_t* available, uint64_t* total) override;
  };

  void look();

  Setting setting_;
  Clock& clock_;
  Statfs statfs_;
  SpaceSource* source_ = &statfs_;
  char directory_[PATH_MAX] = {};
  std::atomic<bool> low_{false};
  std::atomic<int64_t> looked_at_{INT64_MIN};  // never
  std::atomic<uint64_t> written_since_{0};     // bytes allowed since the last look
  std::atomic<uint64_t> check_every_{kMinCheckBytes};
};

}  // namespace tapshim::core
