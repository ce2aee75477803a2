// The words of TAP_MATCH's grammar (match_parser.h): tapshim's keywords,
// and pcap-filter's keywords that mean nothing for a TCP connection, which
// the parser refuses by name rather than taking them for values.
#pragma once

#include <cstdint>
#include <string_view>

namespace tapshim::core::match {

enum class Keyword : uint8_t {
  kNone,  // not a keyword: a value
  kTcp,
  kIp,
  kIp6,
  kSrc,
  kDst,
  kHost,
  kNet,
  kPort,
  kPortRange,
  kUnix,
  kInbound,
  kOutbound,
  kTls,
  kProc,
  kMask,
};

// The keyword `word` spells (case-sensitive), or kNone.
Keyword keywordOf(std::string_view word);

// pcap-filter words that have no meaning for a TCP connection.
bool isPcapOnlyKeyword(std::string_view word);

// AND, Port, ...: a keyword (or and/or/not) in the wrong case.
bool isUpperCaseKeyword(std::string_view word);

}  // namespace tapshim::core::match
