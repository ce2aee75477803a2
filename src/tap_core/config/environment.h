// The one place that reads the process environment.
//
// The shim copies its variables once, in the library's constructor: nginx
// rewrites its environment block for the process title and clears its
// workers' environment, so a later getenv finds nothing, and a kept pointer
// would point into the title.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tapshim::core {

class Environment {
 public:
  using Entries = std::vector<std::pair<std::string, std::string>>;

  Environment() = default;
  explicit Environment(Entries entries) : entries_(std::move(entries)) {}

  // Copies every TAP_* variable of the running process, and
  // XDG_RUNTIME_DIR (where standby's rendezvous directory is).
  static Environment snapshotTapVariables();

  std::optional<std::string_view> get(std::string_view name) const;
  // Whether any TAP_* variable is set (without one the shim is inert).
  bool anyTapVariable() const;
  const Entries& entries() const { return entries_; }

 private:
  Entries entries_;
};

}  // namespace tapshim::core
