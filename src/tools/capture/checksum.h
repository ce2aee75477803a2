// The Internet checksum (RFC 1071) of IPv4 headers and TCP segments.
#pragma once

#include <cstdint>
#include <string_view>

namespace tapshim::tap2pcap {

// Adds bytes to a running one's-complement sum; bytes are taken as 16-bit
// big-endian words, and an odd final byte is padded with zero.
class InternetChecksum {
 public:
  void add(std::string_view bytes);
  void add(const uint8_t* bytes, size_t size) {
    add(std::string_view(reinterpret_cast<const char*>(bytes), size));
  }
  void addWord(uint16_t word) { sum_ += word; }
  // The checksum to store (big-endian) in the header.
  uint16_t value() const;

 private:
  uint64_t sum_ = 0;
  bool odd_ = false;  // the last add() ended halfway through a word
};

}  // namespace tapshim::tap2pcap
