// libFuzzer target: the YAML parser and the TAP_CONFIG mapper must never
// crash, hang, leak or hit undefined behaviour, whatever the input; and a
// successful parse yields a tree whose line numbers lie within the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tap_core/config/envoy_tap_config.h"
#include "tap_core/config/yaml_parser.h"

namespace {

int countLines(std::string_view text) {
  int lines = 1;
  for (char c : text) lines += c == '\n';
  return lines;
}

void checkLines(const tapshim::core::YamlNode& node, int max_line, int depth) {
  if (node.line < 1 || node.line > max_line || node.key_line < 0 || node.key_line > max_line) {
    __builtin_trap();
  }
  if (depth > tapshim::core::kMaxYamlDepth + 2) __builtin_trap();
  for (const auto& child : node.children) checkLines(child, max_line, depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tapshim::core::YamlError error;
  if (auto root = tapshim::core::parseYaml(text, &error)) {
    checkLines(*root, countLines(text), 0);
  } else {
    if (error.line < 1 || error.line > countLines(text) || error.message.empty() ||
        error.message.find('\n') != std::string::npos) {
      __builtin_trap();
    }
  }
  std::string message;
  if (!tapshim::core::parseEnvoyTapConfig(text, &message, "fuzz")) {
    if (message.empty() || message.find('\n') != std::string::npos) __builtin_trap();
  }
  return 0;
}
