// A one-line progress report on stderr for long conversions: only when
// stderr is a terminal, only after the first second, at most four times a
// second, overwritten in place and cleared at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace tapshim::tap2pcap {

class Progress {
 public:
  // enabled: normally isatty(STDERR_FILENO).
  explicit Progress(bool enabled);
  ~Progress() { finish(); }

  // `done` of `total` units of the current phase ("reading", "writing").
  void update(std::string_view phase, uint64_t done, uint64_t total);
  // Clears the line, if one was printed.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  const bool enabled_;
  const Clock::time_point start_;
  Clock::time_point last_print_;
  bool printed_ = false;
};

}  // namespace tapshim::tap2pcap
