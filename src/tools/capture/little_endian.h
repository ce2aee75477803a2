// Little-endian integers for the capture file headers (both formats are
// written in little-endian byte order, whatever the host).
#pragma once

#include <cstdint>
#include <string>

namespace tapshim::tap2pcap {

inline void putLe16(std::string* out, uint16_t value) {
  out->push_back(static_cast<char>(value & 0xff));
  out->push_back(static_cast<char>(value >> 8));
}

inline void putLe32(std::string* out, uint32_t value) {
  putLe16(out, static_cast<uint16_t>(value & 0xffff));
  putLe16(out, static_cast<uint16_t>(value >> 16));
}

inline void putLe64(std::string* out, uint64_t value) {
  putLe32(out, static_cast<uint32_t>(value & 0xffffffff));
  putLe32(out, static_cast<uint32_t>(value >> 32));
}

}  // namespace tapshim::tap2pcap
