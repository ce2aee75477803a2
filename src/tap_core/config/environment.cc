#include "tap_core/config/environment.h"

#include <unistd.h>

#include "tap_core/base/load_time.h"

namespace tapshim::core {

TAPSHIM_LOAD_TIME Environment Environment::snapshotTapVariables() {
  Entries entries;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    // XDG_RUNTIME_DIR: where a standby process looks for `tapshim attach`.
    if (text.substr(0, 4) != "TAP_" && text.substr(0, 16) != "XDG_RUNTIME_DIR=") continue;
    const size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    entries.emplace_back(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return Environment(std::move(entries));
}

TAPSHIM_LOAD_TIME std::optional<std::string_view> Environment::get(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

TAPSHIM_LOAD_TIME bool Environment::anyTapVariable() const {
  for (const auto& entry : entries_) {
    if (std::string_view(entry.first).substr(0, 4) == "TAP_") return true;
  }
  return false;
}

}  // namespace tapshim::core
