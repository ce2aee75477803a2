// Free space the test decides, for DiskReserve (statfs in production),
// counting how often it is asked: free space must be asked at most every
// 100 ms or so many bytes, never per message.
#pragma once

#include <cstdint>
#include <string>

#include "tap_core/sink/disk_reserve.h"

namespace tapshim::testing {

class FakeDiskSpace final : public core::DiskReserve::SpaceSource {
 public:
  FakeDiskSpace(uint64_t available, uint64_t total) : available_(available), total_(total) {}

  long query(const char* directory, uint64_t* available, uint64_t* total) override {
    ++queries_;
    last_directory_ = directory;
    if (error_ != 0) return -error_;
    *available = available_;
    *total = total_;
    return 0;
  }

  void setAvailable(uint64_t available) { available_ = available; }
  // Every later query fails with `error` (an errno value; 0: succeeds).
  void failWith(int error) { error_ = error; }
  int queries() const { return queries_; }
  const std::string& lastDirectory() const { return last_directory_; }

 private:
  uint64_t available_;
  uint64_t total_;
  int error_ = 0;
  int queries_ = 0;
  std::string last_directory_;
};

}  // namespace tapshim::testing
