// TAP_MATCH tokens to a Program: pcap-filter's grammar, as it applies to a
// connection, plus tapshim's inbound/outbound/tls/proc.
//
//   expression := unary { ( "and" | "&&" | "or" | "||" ) unary }
//                 (and/or: equal precedence, left-associative, as pcap-filter)
//   unary      := { "not" | "!" } primary
//   primary    := "(" expression ")" | primitive | VALUE   (VALUE: shorthand)
//   primitive  := [proto] dir [type] VALUE   (dir without a type: host)
//               | [proto] type VALUE
//               | proto | "unix" | "inbound" | "outbound" | "tls"
//               | "proc" NAME
//   proto      := "tcp" | "ip" | "ip6"
//   dir        := "src" | "dst" | "src or dst" | "dst or src"
//               | "src and dst" | "dst and src"
//   type       := "host" | "net" | "port" | "portrange"
//
// Shorthand (pcap-filter's "the most recent keyword is assumed"): a VALUE
// where a term is expected takes the proto, dir and type of the most recent
// primitive that had them (or `proc`), so `port 80 or 443` is
// `port 80 or port 443`. A parenthesised group leaves the qualifiers as
// they were before it; a term without a value (tcp, unix, tls, ...)
// clears them.
#pragma once

#include <string>
#include <string_view>

#include "tap_core/match/match_program.h"

namespace tapshim::core::match {

// Fills `program`, or returns false with `error` set to one line,
// "<problem> at offset N" (N counts bytes from the start of `text`).
bool parseProgram(std::string_view text, Program* program, std::string* error);

}  // namespace tapshim::core::match
