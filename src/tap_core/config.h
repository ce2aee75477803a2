// tapshim's settings, parsed once from the environment by a pure function.
#pragma once

#include <cstdint>
#include <string>

#include "tap_core/environment.h"

namespace tapshim::core {

// Envoy's OutputSink.Format (same names; the numbering is Envoy's enum's).
enum class OutputFormat : uint8_t {
  kJsonBodyAsBytes = 0,
  kJsonBodyAsString = 1,
  kProtoBinary = 2,
  kProtoBinaryLengthDelimited = 3,
  kProtoText = 4,
};

struct Config {
  static constexpr uint32_t kDefaultMaxBufferedBytes = 1024;  // Envoy's default

  // False: the shim forwards every call and records nothing.
  bool enabled = false;
  std::string path_prefix;
  uint32_t max_buffered_rx_bytes = kDefaultMaxBufferedBytes;
  uint32_t max_buffered_tx_bytes = kDefaultMaxBufferedBytes;
  OutputFormat format = OutputFormat::kProtoBinary;
};

struct ConfigResult {
  Config config;
  // Empty, or one line naming the variable and what is wrong with it. A
  // configuration with an error is never used: tapping stays off.
  std::string error;
};

ConfigResult parseConfig(const Environment& environment);

}  // namespace tapshim::core
