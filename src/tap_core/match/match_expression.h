// src/tap_core/match/: TAP_MATCH, tcpdump's pcap-filter vocabulary for
// connections. An expression is split into tokens (match_lexer.h), its
// words named (match_keywords.h), parsed into a postfix program of terms
// (match_parser.h, match_program.h, with addresses and ports read by
// match_value.h), and evaluated here for each connection without
// allocation or locks. Uses trace/ (addresses) and base/.
//
// TAP_MATCH: which connections to tap, as a tcpdump-style expression
// (design.md §3). Parsed once at start-up; evaluated on every connect and
// accept, inside the hooks, possibly from a signal handler: evaluate()
// never allocates, locks or calls into anything that might.
//
// Grammar and keywords: match_parser.h. Semantics, for a connection:
// - `src` is the side that opened it (the client), `dst` the side that
//   accepted it: outbound, src = local and dst = remote; inbound, the
//   reverse. For an adopted socket (origin unknown) `src X` and `dst X`
//   each hold if either side matches X, and `src and dst X` if both do.
// - host/net/port/portrange never match a unix socket; `tcp` is TCP over
//   IPv4 or IPv6; `ip` is IPv4 and `ip6` IPv6.
// - An IPv4-mapped IPv6 address (::ffff:a.b.c.d, a dual-stack socket's
//   IPv4 peer) is IPv4, as it is on the wire: it matches `ip`,
//   `host a.b.c.d` and IPv4 nets, never `ip6` or an IPv6 net such as ::/0.
//   In an expression, `host ::ffff:a.b.c.d` and nets inside ::ffff:0:0/96
//   are IPv4 too.
// - Unix stream sockets are tapped only when the expression names `unix`:
//   otherwise evaluate() says kNo for them whatever the expression.
// - `inbound` and `outbound` are both false for an adopted socket.
// - `tls` is three-valued while unknown: and/or/not follow Kleene's logic,
//   so the result is kUndecided only when tls could still change it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tap_core/match/match_program.h"
#include "tap_core/trace/trace_types.h"

namespace tapshim::core {

// What is known about a connection when it is matched.
struct ConnectionFacts {
  enum class Origin : uint8_t { kOutbound, kInbound, kUnknown };  // connect / accept / adopted
  enum class Tls : uint8_t { kUnknown, kYes, kNo };

  Origin origin = Origin::kUnknown;
  int family = 0;                  // AF_INET, AF_INET6, AF_UNIX; 0: from the addresses
  const Address* local = nullptr;  // Address::kIp (text and port) or kPipe; null: unknown
  const Address* remote = nullptr;
  Tls tls = Tls::kUnknown;
  std::string_view process_name;  // comm
};

class MatchExpression {
 public:
  enum class Decision : uint8_t { kNo, kYes, kUndecided };  // kUndecided: depends on unknown tls

  // The expression, or nullopt and one line in `error`:
  // "TAP_MATCH: <problem> at offset N" (N counts bytes from 0).
  static std::optional<MatchExpression> parse(std::string_view text, std::string* error);

  // No allocation, no lock, no errno change beyond inet_pton's.
  Decision evaluate(const ConnectionFacts& facts) const;

  // The expression mentions `tls`: a decision may have to wait for it.
  bool usesTls() const { return program_.uses_tls; }
  // The expression names `unix`: unix stream sockets are candidates.
  bool wantsUnix() const { return program_.names_unix; }

 private:
  explicit MatchExpression(match::Program program) : program_(std::move(program)) {}

  match::Program program_;
};

}  // namespace tapshim::core
