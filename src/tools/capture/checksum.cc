#include "tools/capture/checksum.h"

namespace tapshim::tap2pcap {

void InternetChecksum::add(std::string_view bytes) {
  for (char c : bytes) {
    const uint8_t byte = static_cast<uint8_t>(c);
    sum_ += odd_ ? byte : static_cast<uint64_t>(byte) << 8;
    odd_ = !odd_;
  }
}

uint16_t InternetChecksum::value() const {
  uint64_t sum = sum_;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

}  // namespace tapshim::tap2pcap
