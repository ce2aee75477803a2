#include "tap_core/match/match_keywords.h"

#include <string>

namespace tapshim::core::match {
namespace {

std::string lowerCase(std::string_view word) {
  std::string lower(word);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

}  // namespace

Keyword keywordOf(std::string_view word) {
  static constexpr struct {
    const char* text;
    Keyword keyword;
  } kKeywords[] = {
      {"tcp", Keyword::kTcp},   {"ip", Keyword::kIp},           {"ip6", Keyword::kIp6},
      {"src", Keyword::kSrc},   {"dst", Keyword::kDst},         {"host", Keyword::kHost},
      {"net", Keyword::kNet},   {"port", Keyword::kPort},       {"portrange", Keyword::kPortRange},
      {"unix", Keyword::kUnix}, {"inbound", Keyword::kInbound}, {"outbound", Keyword::kOutbound},
      {"tls", Keyword::kTls},   {"proc", Keyword::kProc},       {"mask", Keyword::kMask},
  };
  for (const auto& entry : kKeywords) {
    if (word == entry.text) return entry.keyword;
  }
  return Keyword::kNone;
}

bool isPcapOnlyKeyword(std::string_view word) {
  static constexpr const char* kWords[] = {
      "udp",        "icmp",   "icmp6", "igmp",       "igrp",    "pim",       "ah",        "esp",
      "vrrp",       "carp",   "sctp",  "arp",        "rarp",    "ether",     "fddi",      "tr",
      "wlan",       "ppp",    "slip",  "link",       "gateway", "broadcast", "multicast", "less",
      "greater",    "len",    "proto", "protochain", "vlan",    "mpls",      "pppoed",    "pppoes",
      "geneve",     "vxlan",  "atalk", "aarp",       "decnet",  "iso",       "stp",       "ipx",
      "netbeui",    "lat",    "mopdl", "moprc",      "sca",     "clnp",      "esis",      "isis",
      "l1",         "l2",     "iih",   "lsp",        "snp",     "csnp",      "psnp",      "type",
      "subtype",    "dir",    "ra",    "ta",         "addr1",   "addr2",     "addr3",     "addr4",
      "ifname",     "on",     "rnr",   "rulenum",    "reason",  "rset",      "ruleset",   "srnr",
      "subrulenum", "action", "llc",   "hdpr",
  };
  for (const char* known : kWords) {
    if (word == known) return true;
  }
  return false;
}

bool isUpperCaseKeyword(std::string_view word) {
  const std::string lower = lowerCase(word);
  return lower != word &&
         (keywordOf(lower) != Keyword::kNone || lower == "and" || lower == "or" || lower == "not");
}

}  // namespace tapshim::core::match
