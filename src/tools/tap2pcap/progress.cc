#include "tools/tap2pcap/progress.h"

#include <cstdio>

namespace tapshim::tap2pcap {
namespace {

constexpr auto kQuietStart = std::chrono::seconds(1);
constexpr auto kInterval = std::chrono::milliseconds(250);

}  // namespace

Progress::Progress(bool enabled) : enabled_(enabled), start_(Clock::now()), last_print_(start_) {}

void Progress::update(std::string_view phase, uint64_t done, uint64_t total) {
  if (!enabled_) return;
  const Clock::time_point now = Clock::now();
  if (now - start_ < kQuietStart || now - last_print_ < kInterval) return;
  last_print_ = now;
  const double percent = total == 0 ? 100.0 : 100.0 * static_cast<double>(done) / total;
  std::fprintf(stderr, "\rtap2pcap: %.*s %5.1f%% (%.1f of %.1f MB)\033[K",
               static_cast<int>(phase.size()), phase.data(), percent, done / 1e6, total / 1e6);
  std::fflush(stderr);
  printed_ = true;
}

void Progress::finish() {
  if (!printed_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  printed_ = false;
}

}  // namespace tapshim::tap2pcap
