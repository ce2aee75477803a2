// libFuzzer target: any bytes as a TAP_MATCH expression. Parsing must
// either succeed or give one "TAP_MATCH: ... at offset N" line; a parsed
// expression must evaluate, on any connection, to a decision that obeys
// the three-valued rules. ASan catches the rest.
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "tap_core/match/match_expression.h"

namespace {

using tapshim::core::Address;
using tapshim::core::ConnectionFacts;
using tapshim::core::MatchExpression;
using Decision = MatchExpression::Decision;

// Address::ip without trace_types.cc (which pulls in the os layer).
Address makeAddress(Address::Kind kind, const char* text, uint16_t port) {
  Address address;
  address.kind = kind;
  address.port = port;
  address.text_length = static_cast<uint8_t>(std::strlen(text));
  std::memcpy(address.text, text, address.text_length);
  return address;
}

void check(bool condition) {
  if (!condition) std::abort();
}

void evaluateEverywhere(const MatchExpression& expression) {
  const Address v4_local = makeAddress(Address::Kind::kIp, "10.0.0.5", 40000);
  const Address v4_remote = makeAddress(Address::Kind::kIp, "93.184.216.34", 443);
  const Address v6_local = makeAddress(Address::Kind::kIp, "2001:db8::5", 80);
  const Address v6_remote = makeAddress(Address::Kind::kIp, "::1", 65535);
  const Address mapped = makeAddress(Address::Kind::kIp, "::ffff:127.0.0.1", 0);
  const Address pipe = makeAddress(Address::Kind::kPipe, "/run/app.sock", 0);
  const Address garbage = makeAddress(Address::Kind::kIp, "not an address at all", 1);
  const Address unknown;
  struct Shape {
    int family;
    const Address* local;
    const Address* remote;
  } shapes[] = {
      {AF_INET, &v4_local, &v4_remote}, {AF_INET6, &v6_local, &v6_remote},
      {AF_INET6, &mapped, &mapped},     {AF_UNIX, &pipe, &pipe},
      {0, &garbage, &unknown},          {AF_INET, nullptr, nullptr},
  };
  for (const Shape& shape : shapes) {
    for (auto origin : {ConnectionFacts::Origin::kOutbound, ConnectionFacts::Origin::kInbound,
                        ConnectionFacts::Origin::kUnknown}) {
      Decision answer_without_tls = Decision::kUndecided;
      for (auto tls : {ConnectionFacts::Tls::kUnknown, ConnectionFacts::Tls::kYes,
                       ConnectionFacts::Tls::kNo}) {
        ConnectionFacts facts;
        facts.origin = origin;
        facts.family = shape.family;
        facts.local = shape.local;
        facts.remote = shape.remote;
        facts.tls = tls;
        facts.process_name = "curl";
        const Decision decision = expression.evaluate(facts);
        check(decision == Decision::kNo || decision == Decision::kYes ||
              decision == Decision::kUndecided);
        if (shape.family == AF_UNIX && !expression.wantsUnix()) check(decision == Decision::kNo);
        if (tls == ConnectionFacts::Tls::kUnknown) {
          // Undecided only if tls is mentioned; and a decided answer must
          // stay the same whatever tls turns out to be.
          check(decision != Decision::kUndecided || expression.usesTls());
          answer_without_tls = decision;
        } else {
          check(decision != Decision::kUndecided);
          if (answer_without_tls != Decision::kUndecided) check(decision == answer_without_tls);
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const std::optional<MatchExpression> expression = MatchExpression::parse(text, &error);
  if (!expression) {
    check(error.rfind("TAP_MATCH: ", 0) == 0);
    check(error.find('\n') == std::string::npos);
    const size_t at = error.rfind(" at offset ");
    check(at != std::string::npos);
    const unsigned long offset = std::strtoul(error.c_str() + at + 11, nullptr, 10);
    check(offset <= size);
    return 0;
  }
  evaluateEverywhere(*expression);
  return 0;
}
