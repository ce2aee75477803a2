#include "tap_core/trace_types.h"

#include <algorithm>
#include <cstring>

namespace tapshim::core {
namespace {

void setText(Address& address, std::string_view text) {
  address.text_length = static_cast<uint8_t>(std::min(text.size(), Address::kMaxText));
  std::memcpy(address.text, text.data(), address.text_length);
}

}  // namespace

Address Address::ip(std::string_view text, uint16_t port) {
  Address address;
  address.kind = Kind::kIp;
  address.port = port;
  setText(address, text);
  return address;
}

Address Address::pipe(std::string_view path) {
  Address address;
  address.kind = Kind::kPipe;
  setText(address, path);
  return address;
}

void IoSlices::copyPrefix(uint8_t* out, size_t n) const {
  n = std::min(n, total_);
  for (size_t i = 0; i < count_ && n > 0; ++i) {
    const size_t take = std::min(n, iov_[i].iov_len);
    std::memcpy(out, iov_[i].iov_base, take);
    out += take;
    n -= take;
  }
}

}  // namespace tapshim::core
