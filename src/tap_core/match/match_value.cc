#include "tap_core/match/match_value.h"

#include <arpa/inet.h>

#include <cstring>

namespace tapshim::core::match {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool allDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!isDigit(c)) return false;
  }
  return true;
}

// Decimal digits only, at most `limit`; false on anything else.
bool parseNumber(std::string_view text, unsigned limit, unsigned* value) {
  if (!allDigits(text)) return false;
  unsigned result = 0;
  for (char c : text) {
    result = result * 10 + static_cast<unsigned>(c - '0');
    if (result > limit) return false;
  }
  *value = result;
  return true;
}

std::string quoted(std::string_view text) {
  std::string result = "`";
  result.append(text);
  result += '`';
  return result;
}

void setPrefixMask(AddressPattern* pattern, unsigned bits) {
  std::memset(pattern->mask, 0, sizeof(pattern->mask));
  for (unsigned i = 0; i < bits; ++i) pattern->mask[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
}

size_t byteCount(const AddressPattern& pattern) {
  return pattern.version == AddressPattern::kV4 ? 4 : 16;
}

bool hostBitsSet(const AddressPattern& pattern) {
  for (size_t i = 0; i < byteCount(pattern); ++i) {
    if ((pattern.address[i] & ~pattern.mask[i]) != 0) return true;
  }
  return false;
}

// "10.0.0.0" or "2001:db8::": the network part of `pattern`.
std::string networkText(const AddressPattern& pattern) {
  uint8_t network[16] = {};
  for (size_t i = 0; i < byteCount(pattern); ++i) network[i] = pattern.address[i] & pattern.mask[i];
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(pattern.version == AddressPattern::kV4 ? AF_INET : AF_INET6, network, text,
            sizeof(text));
  return text;
}

// An IPv6 network inside ::ffff:0:0/96 is an IPv4 network.
void unmapIfMapped(AddressPattern* pattern, unsigned* bits) {
  if (pattern->version != AddressPattern::kV6 || *bits < 96) return;
  if (std::memcmp(pattern->address, kMappedPrefix, sizeof(kMappedPrefix)) != 0) return;
  uint8_t v4[4];
  std::memcpy(v4, pattern->address + 12, 4);
  std::memset(pattern->address, 0, sizeof(pattern->address));
  std::memcpy(pattern->address, v4, 4);
  pattern->version = AddressPattern::kV4;
  *bits -= 96;
}

// Why `text` is not an address, for a message.
std::string notAnAddress(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return quoted(text) + " is not an IPv6 address";
  bool numeric = true;
  for (char c : text) numeric = numeric && (isDigit(c) || c == '.');
  if (numeric) return quoted(text) + " is not an IPv4 address";
  return quoted(text) +
         " is not an IP address (names are not resolved: give an IPv4 or IPv6 literal)";
}

// 1 to 4 dotted decimal octets, left-aligned in `bytes`; returns how many.
int parsePartialV4(std::string_view text, uint8_t (&bytes)[16]) {
  std::memset(bytes, 0, sizeof(bytes));
  int count = 0;
  while (true) {
    const size_t dot = text.find('.');
    const std::string_view part = text.substr(0, dot);
    unsigned octet = 0;
    if (count == 4 || part.size() > 3 || !parseNumber(part, 255, &octet)) return 0;
    bytes[count++] = static_cast<uint8_t>(octet);
    if (dot == std::string_view::npos) return count;
    text.remove_prefix(dot + 1);
  }
}

bool finishNet(std::string_view written, AddressPattern* pattern, unsigned bits,
               std::string* problem) {
  if (hostBitsSet(*pattern)) {
    *problem = quoted(written) + " has host bits set (the network is " + networkText(*pattern) +
               "/" + std::to_string(bits) + ")";
    return false;
  }
  unmapIfMapped(pattern, &bits);
  setPrefixMask(pattern, bits);
  return true;
}

}  // namespace

uint8_t parseAddressLiteral(std::string_view text, uint8_t (&bytes)[16]) {
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buffer)) return 0;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  std::memset(bytes, 0, sizeof(bytes));
  if (text.find(':') == std::string_view::npos) {
    return inet_pton(AF_INET, buffer, bytes) == 1 ? AddressPattern::kV4 : 0;
  }
  if (inet_pton(AF_INET6, buffer, bytes) != 1) return 0;
  if (std::memcmp(bytes, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    std::memmove(bytes, bytes + 12, 4);
    std::memset(bytes + 4, 0, 12);
    return AddressPattern::kV4;
  }
  return AddressPattern::kV6;
}

bool parseHost(std::string_view text, AddressPattern* pattern, std::string* problem) {
  if (text.find('/') != std::string_view::npos) {
    *problem = quoted(text) + ": a host takes no /LEN (use `net` for networks)";
    return false;
  }
  pattern->version = parseAddressLiteral(text, pattern->address);
  if (pattern->version == 0) {
    *problem = notAnAddress(text);
    if (allDigits(text)) *problem += " (a port needs `port`)";
    return false;
  }
  setPrefixMask(pattern, pattern->version == AddressPattern::kV4 ? 32 : 128);
  return true;
}

bool parseNet(std::string_view text, AddressPattern* pattern, std::string* problem) {
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  const bool v6 = address.find(':') != std::string_view::npos;
  unsigned bits = 0;
  if (v6) {
    char buffer[INET6_ADDRSTRLEN + 1];
    if (address.size() >= sizeof(buffer)) {
      *problem = notAnAddress(address);
      return false;
    }
    std::memcpy(buffer, address.data(), address.size());
    buffer[address.size()] = '\0';
    if (inet_pton(AF_INET6, buffer, pattern->address) != 1) {
      *problem = notAnAddress(address);
      return false;
    }
    pattern->version = AddressPattern::kV6;
    bits = 128;
  } else {
    const int octets = parsePartialV4(address, pattern->address);
    if (octets == 0) {
      *problem = quoted(address) +
                 " is not an IPv4 network (1 to 4 dotted octets; names are not resolved)";
      return false;
    }
    pattern->version = AddressPattern::kV4;
    bits = static_cast<unsigned>(octets) * 8;
  }
  if (slash != std::string_view::npos) {
    const std::string_view length = text.substr(slash + 1);
    const unsigned limit = v6 ? 128 : 32;
    if (!parseNumber(length, limit, &bits)) {
      *problem =
          quoted(text) + ": the prefix length must be a number from 0 to " + std::to_string(limit);
      return false;
    }
  }
  setPrefixMask(pattern, bits);
  return finishNet(text, pattern, bits, problem);
}

bool parseNetMask(std::string_view net, std::string_view mask, AddressPattern* pattern,
                  std::string* problem) {
  const std::string written = std::string(net) + " mask " + std::string(mask);
  if (net.find(':') != std::string_view::npos || mask.find(':') != std::string_view::npos) {
    *problem = quoted(written) + ": `mask` is for IPv4 only (use /LEN for IPv6)";
    return false;
  }
  if (net.find('/') != std::string_view::npos) {
    *problem = quoted(written) + ": give either /LEN or `mask`, not both";
    return false;
  }
  if (parsePartialV4(net, pattern->address) == 0) {
    *problem =
        quoted(net) + " is not an IPv4 network (1 to 4 dotted octets; names are not resolved)";
    return false;
  }
  uint8_t mask_bytes[16];
  if (parseAddressLiteral(mask, mask_bytes) != AddressPattern::kV4 ||
      mask.find(':') != std::string_view::npos) {
    *problem = quoted(mask) + " is not an IPv4 netmask (a dotted quad such as 255.255.0.0)";
    return false;
  }
  pattern->version = AddressPattern::kV4;
  std::memset(pattern->mask, 0, sizeof(pattern->mask));
  std::memcpy(pattern->mask, mask_bytes, 4);
  if (hostBitsSet(*pattern)) {
    *problem =
        quoted(written) + " has host bits set (the network is " + networkText(*pattern) + ")";
    return false;
  }
  return true;
}

bool parsePort(std::string_view text, uint16_t* port, std::string* problem) {
  unsigned value = 0;
  if (parseNumber(text, 65535, &value)) {
    *port = static_cast<uint16_t>(value);
    return true;
  }
  if (allDigits(text)) {
    *problem = "port " + std::string(text) + " is out of range (0 to 65535)";
  } else if (text.empty()) {
    *problem = "empty port";
  } else {
    *problem = "port " + quoted(text) + " is not a number (service names are not resolved)";
  }
  return false;
}

bool parsePortRange(std::string_view text, uint16_t* first, uint16_t* last, std::string* problem) {
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    *problem = "portrange " + quoted(text) + " is not of the form FIRST-LAST";
    return false;
  }
  if (!parsePort(text.substr(0, dash), first, problem) ||
      !parsePort(text.substr(dash + 1), last, problem)) {
    *problem = "portrange " + quoted(text) + ": " + *problem;
    return false;
  }
  if (*first > *last) {
    *problem = "portrange " + quoted(text) + " is empty (its first port is above its last)";
    return false;
  }
  return true;
}

}  // namespace tapshim::core::match
