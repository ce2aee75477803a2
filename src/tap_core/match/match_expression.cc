#include "tap_core/match/match_expression.h"

#include <sys/socket.h>

#include <cstring>
#include <utility>

#include "tap_core/match/match_parser.h"
#include "tap_core/match/match_value.h"

namespace tapshim::core {
namespace {

using match::AddressPattern;
using match::Op;
using match::Program;
using match::Side;
using match::Term;
using Decision = MatchExpression::Decision;

// One end of the connection, in binary.
struct End {
  bool ip = false;      // an IP address with a port
  uint8_t version = 0;  // AddressPattern::kV4/kV6, 0 when not an IP literal
  uint16_t port = 0;
  uint8_t bytes[16] = {};
};

enum class Family : uint8_t { kUnknown, kV4, kV6, kUnix };

struct Connection {
  const ConnectionFacts* facts;
  Family family = Family::kUnknown;
  End local;
  End remote;
};

void readEnd(const Address* address, bool parse_address, End* end) {
  if (address == nullptr || address->kind != Address::Kind::kIp) return;
  end->ip = true;
  end->port = address->port;
  if (parse_address) end->version = match::parseAddressLiteral(address->textView(), end->bytes);
}

bool isPipe(const Address* address) {
  return address != nullptr && address->kind == Address::Kind::kPipe;
}

Family familyOf(const ConnectionFacts& facts, const End& local, const End& remote) {
  if (facts.family == AF_UNIX) return Family::kUnix;
  if (facts.family == AF_INET) return Family::kV4;
  const uint8_t version = remote.version != 0 ? remote.version : local.version;
  if (version == AddressPattern::kV4) return Family::kV4;  // includes IPv4-mapped
  if (version == AddressPattern::kV6) return Family::kV6;
  if (facts.family == AF_INET6) return Family::kV6;
  if (isPipe(facts.local) || isPipe(facts.remote)) return Family::kUnix;
  return Family::kUnknown;
}

bool addressMatches(const AddressPattern& pattern, const End& end) {
  if (end.version != pattern.version) return false;
  const size_t size = pattern.version == AddressPattern::kV4 ? 4 : 16;
  for (size_t i = 0; i < size; ++i) {
    if ((end.bytes[i] & pattern.mask[i]) != pattern.address[i]) return false;
  }
  return true;
}

bool endMatches(const Term& term, const End& end) {
  if (term.kind == Term::Kind::kAddress) return addressMatches(term.pattern, end);
  return end.ip && end.port >= term.first_port && end.port <= term.last_port;
}

bool sideMatches(const Term& term, const Connection& connection) {
  const bool local = endMatches(term, connection.local);
  const bool remote = endMatches(term, connection.remote);
  const ConnectionFacts::Origin origin = connection.facts->origin;
  switch (term.side) {
    case Side::kEither:
      return local || remote;
    case Side::kBoth:
      return local && remote;
    case Side::kSrc:
      if (origin == ConnectionFacts::Origin::kOutbound) return local;
      if (origin == ConnectionFacts::Origin::kInbound) return remote;
      return local || remote;  // adopted: either side may have opened it
    case Side::kDst:
      if (origin == ConnectionFacts::Origin::kOutbound) return remote;
      if (origin == ConnectionFacts::Origin::kInbound) return local;
      return local || remote;
  }
  return false;
}

Decision fromBool(bool value) { return value ? Decision::kYes : Decision::kNo; }

Decision decide(const Term& term, const Connection& connection) {
  const ConnectionFacts& facts = *connection.facts;
  switch (term.kind) {
    case Term::Kind::kAddress:
    case Term::Kind::kPortRange:
      return fromBool(sideMatches(term, connection));
    case Term::Kind::kTcp:
      return fromBool(connection.family == Family::kV4 || connection.family == Family::kV6);
    case Term::Kind::kIp:
      return fromBool(connection.family == Family::kV4);
    case Term::Kind::kIp6:
      return fromBool(connection.family == Family::kV6);
    case Term::Kind::kUnix:
      return fromBool(connection.family == Family::kUnix);
    case Term::Kind::kInbound:
      return fromBool(facts.origin == ConnectionFacts::Origin::kInbound);
    case Term::Kind::kOutbound:
      return fromBool(facts.origin == ConnectionFacts::Origin::kOutbound);
    case Term::Kind::kTls:
      return facts.tls == ConnectionFacts::Tls::kYes  ? Decision::kYes
             : facts.tls == ConnectionFacts::Tls::kNo ? Decision::kNo
                                                      : Decision::kUndecided;
    case Term::Kind::kProc:
      return fromBool(facts.process_name == std::string_view(term.name, term.name_length));
  }
  return Decision::kNo;
}

// Kleene's three-valued and/or.
Decision both(Decision a, Decision b) {
  if (a == Decision::kNo || b == Decision::kNo) return Decision::kNo;
  if (a == Decision::kYes && b == Decision::kYes) return Decision::kYes;
  return Decision::kUndecided;
}

Decision either(Decision a, Decision b) {
  if (a == Decision::kYes || b == Decision::kYes) return Decision::kYes;
  if (a == Decision::kNo && b == Decision::kNo) return Decision::kNo;
  return Decision::kUndecided;
}

Decision negate(Decision a) {
  if (a == Decision::kUndecided) return a;
  return a == Decision::kYes ? Decision::kNo : Decision::kYes;
}

// The most values the program ever has on its stack; 0 if it is malformed.
size_t stackNeeded(const Program& program) {
  size_t depth = 0;
  size_t most = 0;
  for (const Op& op : program.ops) {
    switch (op.code) {
      case Op::Code::kTerm:
        if (op.term >= program.terms.size()) return 0;
        ++depth;
        break;
      case Op::Code::kAnd:
      case Op::Code::kOr:
        if (depth < 2) return 0;
        --depth;
        break;
      case Op::Code::kNot:
        if (depth < 1) return 0;
        break;
    }
    if (depth > most) most = depth;
  }
  return depth == 1 ? most : 0;
}

}  // namespace

std::optional<MatchExpression> MatchExpression::parse(std::string_view text, std::string* error) {
  Program program;
  std::string problem;
  if (!match::parseProgram(text, &program, &problem)) {
    *error = "TAP_MATCH: " + problem;
    return std::nullopt;
  }
  const size_t needed = stackNeeded(program);
  if (needed == 0 || needed > Program::kMaxStack) {
    *error = "TAP_MATCH: expression too deeply nested at offset 0";
    return std::nullopt;
  }
  return MatchExpression(std::move(program));
}

MatchExpression::Decision MatchExpression::evaluate(const ConnectionFacts& facts) const {
  Connection connection;
  connection.facts = &facts;
  const bool parse_addresses = program_.uses_addresses;
  readEnd(facts.local, parse_addresses, &connection.local);
  readEnd(facts.remote, parse_addresses, &connection.remote);
  connection.family = familyOf(facts, connection.local, connection.remote);
  if (connection.family == Family::kUnix && !program_.names_unix) return Decision::kNo;

  Decision stack[Program::kMaxStack];
  size_t depth = 0;
  for (const Op& op : program_.ops) {
    switch (op.code) {
      case Op::Code::kTerm:
        if (depth == Program::kMaxStack) return Decision::kNo;  // cannot happen: checked in parse
        stack[depth++] = decide(program_.terms[op.term], connection);
        break;
      case Op::Code::kAnd:
        --depth;
        stack[depth - 1] = both(stack[depth - 1], stack[depth]);
        break;
      case Op::Code::kOr:
        --depth;
        stack[depth - 1] = either(stack[depth - 1], stack[depth]);
        break;
      case Op::Code::kNot:
        stack[depth - 1] = negate(stack[depth - 1]);
        break;
    }
  }
  return depth == 1 ? stack[0] : Decision::kNo;
}

}  // namespace tapshim::core
