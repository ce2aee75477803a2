#include "tap_core/base/diagnostics.h"

#include <algorithm>
#include <cstring>

#include "tap_core/base/os.h"

namespace tapshim::core {
namespace {

std::atomic<bool> g_reported[static_cast<size_t>(Problem::kCount)];

}  // namespace

bool reportOnce(Problem problem, std::initializer_list<std::string_view> parts) {
  if (g_reported[static_cast<size_t>(problem)].exchange(true)) return false;
  char line[512];
  size_t length = 0;
  auto add = [&](std::string_view text) {
    const size_t take = std::min(text.size(), sizeof(line) - 1 - length);
    std::memcpy(line + length, text.data(), take);
    length += take;
  };
  add("tapshim: ");
  for (std::string_view part : parts) add(part);
  line[length++] = '\n';
  os::writeAll(2, line, length);
  return true;
}

void resetReports() {
  for (auto& reported : g_reported) reported.store(false);
}

}  // namespace tapshim::core
