#include "tap_core/trace/trace_types.h"

#include <algorithm>
#include <cstring>

#include "tap_core/base/os.h"

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

IoSlices IoSlices::fromFile(int fd, int64_t offset, size_t total) {
  IoSlices slices(nullptr, 0, total);
  slices.file_fd_ = fd;
  slices.file_offset_ = offset;
  return slices;
}

size_t IoSlices::copyPrefix(uint8_t* out, size_t n) const {
  n = std::min(n, total_);
  if (file_fd_ >= 0) {
    size_t copied = 0;
    while (copied < n) {
      const long got = os::readAt(file_fd_, out + copied, n - copied,
                                  file_offset_ + static_cast<int64_t>(copied));
      if (got <= 0) break;
      copied += static_cast<size_t>(got);
    }
    return copied;
  }
  size_t copied = 0;
  for (size_t i = 0; i < count_ && copied < n; ++i) {
    const size_t take = std::min(n - copied, iov_[i].iov_len);
    if (take == 0) continue;  // an empty slice may have no base: memcpy(nullptr) is undefined
    std::memcpy(out + copied, iov_[i].iov_base, take);
    copied += take;
  }
  return copied;
}

}  // namespace tapshim::core
