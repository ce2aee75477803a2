// Appends text to a ByteBuffer for the text and JSON encoders: no malloc,
// no locale, numbers with std::to_chars. Once an append fails (memory),
// every later one is skipped and ok() stays false.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

#include "tap_core/base/byte_buffer.h"

namespace tapshim::core {

class TextOutput {
 public:
  explicit TextOutput(ByteBuffer* out) : out_(out) {}

  TextOutput& operator<<(std::string_view text) {
    if (ok_ && !out_->append(text.data(), text.size())) ok_ = false;
    return *this;
  }
  TextOutput& operator<<(char c) { return *this << std::string_view(&c, 1); }
  template <typename Integer>
  TextOutput& number(Integer value) {
    char digits[24];
    auto [end, error] = std::to_chars(digits, digits + sizeof(digits), value);
    (void)error;
    return *this << std::string_view(digits, static_cast<size_t>(end - digits));
  }
  TextOutput& indent(int levels, int width) {
    for (int i = 0; i < levels * width; ++i) *this << ' ';
    return *this;
  }
  bool ok() const { return ok_; }

 private:
  ByteBuffer* out_;
  bool ok_ = true;
};

}  // namespace tapshim::core
