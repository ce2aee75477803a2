// The compiled form of a TAP_MATCH expression: a list of terms (each
// decided from one connection's facts alone) and a postfix program that
// combines their decisions with and/or/not.
//
// Everything is fixed-size and precomputed at parse time (binary
// addresses, masks, port bounds), so evaluation reads plain memory and
// never allocates: it runs inside connect/accept hooks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tapshim::core::match {

// Which end of the connection an address or port term looks at. `src` is
// the side that opened the connection, `dst` the side that accepted it.
enum class Side : uint8_t {
  kEither,  // unqualified, or `src or dst`
  kSrc,
  kDst,
  kBoth,  // `src and dst`
};

// An IPv4 or IPv6 network; a host is a network with a full mask. IPv4 is
// kept in the first 4 bytes. IPv4-mapped IPv6 networks (::ffff:0:0/96 and
// longer prefixes) are stored as IPv4.
struct AddressPattern {
  static constexpr uint8_t kV4 = 4;
  static constexpr uint8_t kV6 = 6;
  uint8_t version = 0;
  uint8_t address[16] = {};  // network bits only (host bits are zero)
  uint8_t mask[16] = {};
};

struct Term {
  enum class Kind : uint8_t {
    kAddress,    // host / net
    kPortRange,  // port (first == last) / portrange
    kTcp,        // IPv4 or IPv6 TCP
    kIp,         // IPv4 (including IPv4-mapped IPv6)
    kIp6,        // IPv6 that is not IPv4-mapped
    kUnix,       // unix stream socket
    kInbound,    // accepted
    kOutbound,   // connected
    kTls,
    kProc,  // process name (comm), exact
  };
  static constexpr size_t kMaxProcessName = 15;  // comm without its NUL

  Kind kind = Kind::kTcp;
  Side side = Side::kEither;
  uint16_t first_port = 0;
  uint16_t last_port = 0;
  uint8_t name_length = 0;
  char name[kMaxProcessName] = {};
  AddressPattern pattern;
};

// One postfix instruction. kTerm pushes the decision of terms[term].
struct Op {
  enum class Code : uint8_t { kTerm, kAnd, kOr, kNot };
  Code code = Code::kTerm;
  uint16_t term = 0;
};

struct Program {
  // Parentheses nest at most this deep, which bounds the evaluation stack
  // (see kMaxStack) and the parser's recursion.
  static constexpr int kMaxNesting = 64;
  static constexpr size_t kMaxStack = kMaxNesting + 4;
  // Terms are indexed by uint16_t.
  static constexpr size_t kMaxTerms = 65535;

  std::vector<Term> terms;
  std::vector<Op> ops;
  bool uses_tls = false;
  bool names_unix = false;
  bool uses_addresses = false;  // host/net/port/portrange/ip/ip6/tcp terms
};

}  // namespace tapshim::core::match
