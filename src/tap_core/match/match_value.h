// The values of TAP_MATCH primitives: IP literals, networks, ports and
// port ranges, turned into their binary form once, at parse time. Names
// are never resolved (no DNS inside a host program's connect()).
//
// Each parse function returns false with `problem` set to a phrase that
// names the value and what is wrong with it (the parser adds the offset).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tap_core/match/match_program.h"

namespace tapshim::core::match {

// An IPv4 or IPv6 literal as a connection's address text holds it (what
// inet_ntop writes). IPv4-mapped IPv6 (::ffff:a.b.c.d) comes back as IPv4.
// Returns 0 when `text` is neither, else AddressPattern::kV4 or kV6 with the
// address in `bytes` (IPv4 in the first 4). Never allocates.
uint8_t parseAddressLiteral(std::string_view text, uint8_t (&bytes)[16]);

// `host ADDR`: one IPv4 or IPv6 address, as a network with a full mask.
bool parseHost(std::string_view text, AddressPattern* pattern, std::string* problem);

// `net NET`: ADDR/LEN (IPv4 or IPv6), or an IPv4 network of 1 to 4 octets
// with an optional /LEN ("10" is 10.0.0.0/8, "192.168" 192.168.0.0/16, as
// in pcap-filter). Host bits must be zero.
bool parseNet(std::string_view text, AddressPattern* pattern, std::string* problem);

// `net NET mask MASK`: IPv4 only; the mask is a dotted quad.
bool parseNetMask(std::string_view net, std::string_view mask, AddressPattern* pattern,
                  std::string* problem);

// `port N`: 0 to 65535, digits only.
bool parsePort(std::string_view text, uint16_t* port, std::string* problem);

// `portrange A-B`: two ports, A <= B.
bool parsePortRange(std::string_view text, uint16_t* first, uint16_t* last, std::string* problem);

}  // namespace tapshim::core::match
