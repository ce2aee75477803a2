#include "tap_core/config/attach_request.h"

#include <utility>

namespace tapshim::core {
namespace {

bool isAttachVariable(std::string_view name) {
  for (std::string_view known : kAttachVariables) {
    if (name == known) return true;
  }
  return false;
}

// A name inside the rendezvous directory: no path, no dot-entries.
bool isPlainName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\0' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

// What only the attach decides: never taken from the process's own
// environment.
bool isAttachOwned(std::string_view name) {
  for (std::string_view owned : {"TAP_PATH_PREFIX", "TAP_CONFIG", "TAP_STANDBY", "TAP_KEYLOG",
                                 "TAP_SINK", "TAP_FORMAT", "TAP_STREAMING"}) {
    if (name == owned) return true;
  }
  return false;
}

}  // namespace

bool parseAttachRequest(std::string_view text, AttachRequest* request, std::string* error) {
  *request = AttachRequest{};
  while (!text.empty()) {
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      *error = "the request's last line is not ended";
      return false;
    }
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      *error = "a request line is not key=value";
      return false;
    }
    const std::string_view key = line.substr(0, equals);
    const std::string_view value = line.substr(equals + 1);
    if (key == "dir") {
      if (!isPlainName(value)) {
        *error = "the request's dir is not a plain name";
        return false;
      }
      request->dir = std::string(value);
    } else if (key == "config") {
      request->config = value == "1";
    } else if (isAttachVariable(key)) {
      request->settings.emplace_back(std::string(key), std::string(value));
    } else {
      *error = "the request names '" + std::string(key) + "', which an attach cannot set";
      return false;
    }
  }
  if (request->dir.empty()) {
    *error = "the request names no directory";
    return false;
  }
  return true;
}

Environment attachEnvironment(const Environment& own, const AttachRequest& request,
                              std::string_view prefix, std::string_view config_path) {
  Environment::Entries entries;
  auto set = [&](std::string_view name, std::string_view value) {
    for (auto& [key, existing] : entries) {
      if (key == name) {
        existing = std::string(value);
        return;
      }
    }
    entries.emplace_back(std::string(name), std::string(value));
  };
  for (const auto& [key, value] : own.entries()) {
    if (key.rfind("TAP_", 0) == 0 && !isAttachOwned(key)) set(key, value);
  }
  for (const auto& [key, value] : request.settings) set(key, value);
  set("TAP_PATH_PREFIX", prefix);
  set("TAP_STREAMING", "1");
  set("TAP_FORMAT", "proto_binary_length_delimited");
  set("TAP_SINK", "file_per_tap");
  if (request.config) set("TAP_CONFIG", config_path);
  return Environment(std::move(entries));
}

}  // namespace tapshim::core
