#include "tap_core/sink/disk_reserve.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>

#include "tap_core/base/diagnostics.h"
#include "tap_core/base/load_time.h"
#include "tap_core/base/os.h"

namespace tapshim::core {
namespace {

// The directory part of a path prefix: "/var/tap/trace" -> "/var/tap",
// "trace" -> ".", "/trace" -> "/", "/var/tap/" -> "/var/tap".
void directoryOf(std::string_view prefix, char (&out)[PATH_MAX]) {
  const size_t slash = prefix.rfind('/');
  std::string_view directory = slash == std::string_view::npos ? std::string_view(".")
                               : slash == 0                    ? std::string_view("/")
                                                               : prefix.substr(0, slash);
  directory = directory.substr(0, sizeof(out) - 1);
  std::memcpy(out, directory.data(), directory.size());
  out[directory.size()] = '\0';
}

std::string_view decimal(uint64_t value, char (&out)[24]) {
  const auto result = std::to_chars(out, std::end(out), value);
  return {out, static_cast<size_t>(result.ptr - out)};
}

}  // namespace

long DiskReserve::Statfs::query(const char* directory, uint64_t* available, uint64_t* total) {
  return os::fileSystemSpace(directory, available, total);
}

TAPSHIM_LOAD_TIME DiskReserve::DiskReserve(Setting setting, std::string_view path_prefix,
                                           Clock& clock)
    : setting_(setting), clock_(clock) {
  directoryOf(path_prefix, directory_);
}

bool DiskReserve::allows(uint64_t bytes) {
  if (setting_.bytes == 0 && setting_.percent == 0) return true;
  const int64_t now = clock_.nowNanos();
  int64_t looked_at = looked_at_.load(std::memory_order_relaxed);
  // A clock that went back counts as time passed. One thread looks; the
  // others go by what the last look found.
  const bool due = looked_at == INT64_MIN || now < looked_at || now - looked_at >= kRecheckNanos ||
                   written_since_.load(std::memory_order_relaxed) >=
                       check_every_.load(std::memory_order_relaxed);
  if (due && looked_at_.compare_exchange_strong(looked_at, now, std::memory_order_relaxed)) {
    written_since_.store(0, std::memory_order_relaxed);
    look();
  }
  if (low_.load(std::memory_order_acquire)) return false;
  written_since_.fetch_add(bytes, std::memory_order_relaxed);
  return true;
}

void DiskReserve::look() {
  uint64_t available = 0, total = 0;
  if (source_->query(directory_, &available, &total) != 0) {
    // Cannot tell (no such directory yet, a seccomp filter): creating or
    // writing the file says what is wrong, if anything.
    low_.store(false, std::memory_order_release);
    return;
  }
  const uint64_t reserve =
      setting_.percent > 0 ? total / 100 * setting_.percent + total % 100 * setting_.percent / 100
                           : setting_.bytes;
  check_every_.store(std::clamp(reserve / 2, kMinCheckBytes, kMaxCheckBytes),
                     std::memory_order_relaxed);
  const bool low = available < reserve;
  const bool was_low = low_.exchange(low, std::memory_order_acq_rel);
  if (!low || was_low) return;
  char bytes[24];
  const std::string_view bytes_text = decimal(reserve, bytes);
  char percent[24];
  const std::string_view percent_text = decimal(setting_.percent, percent);
  constexpr std::string_view kConsequence =
      " (TAP_DISK_RESERVE): no new traces, and streamed traces are cut, until space returns";
  if (setting_.percent > 0) {
    reportOnce(Problem::kDiskReserve,
               {"less than ", percent_text, "% (", bytes_text,
                " bytes) free on the file system of ", directory_, kConsequence});
  } else {
    reportOnce(
        Problem::kDiskReserve,
        {"less than ", bytes_text, " bytes free on the file system of ", directory_, kConsequence});
  }
}

}  // namespace tapshim::core
