#include "tap_core/sink/file_size_limit.h"

#include "tap_core/base/os.h"

namespace tapshim::core {
namespace {

uint64_t askKernel() {
  uint64_t bytes = FileSizeLimit::kNone;
  return os::fileSizeLimit(&bytes) == 0 ? bytes : FileSizeLimit::kNone;
}

}  // namespace

uint64_t FileSizeLimit::current() {
  const int64_t now = clock_.nowNanos();
  int64_t asked_at = asked_at_.load(std::memory_order_relaxed);
  // A clock that went back counts as time passed. One thread asks; the
  // others use the answer it had, except before the first answer is in.
  const bool due = asked_at == INT64_MIN || now < asked_at || now - asked_at >= kRecheckNanos;
  if (due && asked_at_.compare_exchange_strong(asked_at, now, std::memory_order_relaxed)) {
    const uint64_t bytes = askKernel();
    bytes_.store(bytes, std::memory_order_relaxed);
    known_.store(true, std::memory_order_release);
    return bytes;
  }
  if (!known_.load(std::memory_order_acquire)) return askKernel();
  return bytes_.load(std::memory_order_relaxed);
}

}  // namespace tapshim::core
