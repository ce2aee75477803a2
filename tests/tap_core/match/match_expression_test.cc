// TAP_MATCH: tcpdump's pcap-filter vocabulary applied to a connection, plus
// inbound/outbound/tls/proc. Parsed once; evaluated without allocating.
#include "tap_core/match/match_expression.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>
#include <string_view>

#include "allocation_counter.h"

namespace tapshim::core {
namespace {

using ::testing::HasSubstr;
using Decision = MatchExpression::Decision;
using Origin = ConnectionFacts::Origin;
using Tls = ConnectionFacts::Tls;

constexpr Decision kYes = Decision::kYes;
constexpr Decision kNo = Decision::kNo;
constexpr Decision kUndecided = Decision::kUndecided;

// A connection as the engine would describe it.
class Connection {
 public:
  Connection(Origin origin, int family, Address local, Address remote)
      : local_(local), remote_(remote) {
    facts_.origin = origin;
    facts_.family = family;
  }
  Connection& tls(Tls tls) {
    facts_.tls = tls;
    return *this;
  }
  Connection& process(std::string name) {
    name_ = std::move(name);
    return *this;
  }
  const ConnectionFacts& facts() const {
    facts_.local = &local_;
    facts_.remote = &remote_;
    facts_.process_name = name_;
    return facts_;
  }

 private:
  Address local_;
  Address remote_;
  std::string name_ = "app";
  mutable ConnectionFacts facts_;
};

// This program (10.0.0.5) connected from port 40000 to 93.184.216.34:443.
Connection outbound4(uint16_t remote_port = 443) {
  return Connection(Origin::kOutbound, AF_INET, Address::ip("10.0.0.5", 40000),
                    Address::ip("93.184.216.34", remote_port));
}
// This program accepted, on 10.0.0.5:8080, a client at 192.0.2.7:51000.
Connection inbound4(uint16_t local_port = 8080) {
  return Connection(Origin::kInbound, AF_INET, Address::ip("10.0.0.5", local_port),
                    Address::ip("192.0.2.7", 51000));
}
Connection outbound6() {
  return Connection(Origin::kOutbound, AF_INET6, Address::ip("2001:db8::5", 40000),
                    Address::ip("2001:db8:1::443", 443));
}
// A dual-stack (AF_INET6) socket talking IPv4.
Connection mapped() {
  return Connection(Origin::kOutbound, AF_INET6, Address::ip("::ffff:10.0.0.5", 40000),
                    Address::ip("::ffff:127.0.0.1", 8443));
}
Connection unixSocket(Origin origin = Origin::kOutbound) {
  return Connection(origin, AF_UNIX, Address::pipe(""), Address::pipe("/run/app.sock"));
}
// Inherited: which side opened it is unknown.
Connection adopted() {
  return Connection(Origin::kUnknown, AF_INET, Address::ip("10.0.0.5", 8080),
                    Address::ip("192.0.2.7", 51000));
}

Decision evaluate(std::string_view expression, const Connection& connection) {
  std::string error;
  const std::optional<MatchExpression> parsed = MatchExpression::parse(expression, &error);
  if (!parsed) {
    ADD_FAILURE() << "`" << expression << "` did not parse: " << error;
    return kNo;
  }
  return parsed->evaluate(connection.facts());
}

std::string errorOf(std::string_view expression) {
  std::string error;
  if (MatchExpression::parse(expression, &error)) {
    ADD_FAILURE() << "`" << expression << "` parsed";
    return "";
  }
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(error.rfind("TAP_MATCH: ", 0), 0u) << error;
  return error;
}

// ---- host ----

TEST(MatchHostTest, HostMatchesTheRemoteEndOfAnOutboundConnection) {
  EXPECT_EQ(evaluate("host 93.184.216.34", outbound4()), kYes);
}

TEST(MatchHostTest, HostMatchesTheLocalEndToo) {
  EXPECT_EQ(evaluate("host 10.0.0.5", outbound4()), kYes);
}

TEST(MatchHostTest, HostOfAnotherMachineDoesNotMatch) {
  EXPECT_EQ(evaluate("host 93.184.216.35", outbound4()), kNo);
}

TEST(MatchHostTest, Ipv6HostMatchesWhateverWayTheAddressIsWritten) {
  EXPECT_EQ(evaluate("host 2001:db8:1:0:0:0:0:443", outbound6()), kYes);
  EXPECT_EQ(evaluate("host 2001:DB8:1::443", outbound6()), kYes);
  EXPECT_EQ(evaluate("host 2001:db8:1::444", outbound6()), kNo);
}

TEST(MatchHostTest, Ipv4HostNeverMatchesAnIpv6Connection) {
  EXPECT_EQ(evaluate("host 10.0.0.5", outbound6()), kNo);
  EXPECT_EQ(evaluate("host ::", outbound4()), kNo);
}

TEST(MatchHostTest, NameIsRefusedBecauseTheShimResolvesNothing) {
  const std::string error = errorOf("host example.com");
  EXPECT_THAT(error, HasSubstr("`example.com` is not an IP address"));
  EXPECT_THAT(error, HasSubstr("names are not resolved"));
  EXPECT_THAT(error, HasSubstr("at offset 5"));
}

TEST(MatchHostTest, MalformedLiteralsAreRefused) {
  EXPECT_THAT(errorOf("host 1.2.3"), HasSubstr("`1.2.3` is not an IPv4 address at offset 5"));
  EXPECT_THAT(errorOf("host 1.2.3.256"), HasSubstr("is not an IPv4 address"));
  EXPECT_THAT(errorOf("host 1::2::3"), HasSubstr("`1::2::3` is not an IPv6 address"));
  EXPECT_THAT(errorOf("host fe80::1%eth0"), HasSubstr("is not an IPv6 address"));
  EXPECT_THAT(errorOf("host [::1]"), HasSubstr("is not an IPv6 address"));
  EXPECT_THAT(errorOf("host 443"), HasSubstr("(a port needs `port`)"));
}

TEST(MatchHostTest, HostWithPrefixLengthPointsToNet) {
  EXPECT_THAT(errorOf("host 10.0.0.0/8"), HasSubstr("a host takes no /LEN (use `net`"));
}

// ---- net ----

TEST(MatchNetTest, CidrMatchesAddressesInside) {
  EXPECT_EQ(evaluate("net 93.184.216.0/24", outbound4()), kYes);
  EXPECT_EQ(evaluate("net 93.184.217.0/24", outbound4()), kNo);
  EXPECT_EQ(evaluate("net 10.0.0.0/8", outbound4()), kYes);
}

TEST(MatchNetTest, SlashZeroMatchesEveryAddressOfItsFamily) {
  EXPECT_EQ(evaluate("net 0.0.0.0/0", outbound4()), kYes);
  EXPECT_EQ(evaluate("net 0.0.0.0/0", outbound6()), kNo);
  EXPECT_EQ(evaluate("net ::/0", outbound6()), kYes);
  EXPECT_EQ(evaluate("net ::/0", outbound4()), kNo);
}

TEST(MatchNetTest, Slash32AndSlash128AreSingleHosts) {
  EXPECT_EQ(evaluate("net 10.0.0.5/32", outbound4()), kYes);
  EXPECT_EQ(evaluate("net 10.0.0.6/32", outbound4()), kNo);
  EXPECT_EQ(evaluate("net 2001:db8::5/128", outbound6()), kYes);
  EXPECT_EQ(evaluate("net 2001:db8::6/128", outbound6()), kNo);
}

TEST(MatchNetTest, Ipv6PrefixMatchesOnBitBoundariesInsideAByte) {
  // 2001:db8:1::/52 holds 2001:db8:1::443; 2001:db8:0:8000::/49 does not.
  EXPECT_EQ(evaluate("net 2001:db8:1::/52", outbound6()), kYes);
  EXPECT_EQ(evaluate("net 2001:db8::/33", outbound6()), kYes);
  EXPECT_EQ(evaluate("net 2001:db8:0:8000::/49", outbound6()), kNo);
}

TEST(MatchNetTest, AbbreviatedIpv4NetworksImplyTheirLengthAsInTcpdump) {
  EXPECT_EQ(evaluate("net 10", outbound4()), kYes);          // 10.0.0.0/8
  EXPECT_EQ(evaluate("net 93.184", outbound4()), kYes);      // /16
  EXPECT_EQ(evaluate("net 93.184.216", outbound4()), kYes);  // /24
  EXPECT_EQ(evaluate("net 93.184.217", outbound4()), kNo);
  EXPECT_EQ(evaluate("net 10/8", outbound4()), kYes);
  EXPECT_EQ(evaluate("net 192.168/16", outbound4()), kNo);
}

TEST(MatchNetTest, NetWithoutLengthIsASingleAddress) {
  EXPECT_EQ(evaluate("net 10.0.0.5", outbound4()), kYes);
  EXPECT_EQ(evaluate("net 2001:db8::5", outbound6()), kYes);
  EXPECT_EQ(evaluate("net 2001:db8::", outbound6()), kNo);
}

TEST(MatchNetTest, MaskFormIsTheSameAsCidr) {
  EXPECT_EQ(evaluate("net 93.184.0.0 mask 255.255.0.0", outbound4()), kYes);
  EXPECT_EQ(evaluate("net 93.185.0.0 mask 255.255.0.0", outbound4()), kNo);
  EXPECT_EQ(evaluate("net 93 mask 255.0.0.0", outbound4()), kYes);
}

TEST(MatchNetTest, HostBitsSetIsAnErrorAsInTcpdump) {
  EXPECT_EQ(errorOf("net 10.1.2.3/8"),
            "TAP_MATCH: `10.1.2.3/8` has host bits set (the network is 10.0.0.0/8) at offset 4");
  EXPECT_THAT(errorOf("net 2001:db8::1/64"),
              HasSubstr("has host bits set (the network is 2001:db8::/64)"));
  EXPECT_THAT(errorOf("net 10.1.0.0 mask 255.0.0.0"),
              HasSubstr("has host bits set (the network is 10.0.0.0)"));
  EXPECT_THAT(errorOf("net 10.1/8"), HasSubstr("has host bits set"));
}

TEST(MatchNetTest, BadNetworksAreRefused) {
  EXPECT_THAT(errorOf("net 10.0.0.0/33"),
              HasSubstr("the prefix length must be a number from 0 to 32 at offset 4"));
  EXPECT_THAT(errorOf("net ::/129"), HasSubstr("from 0 to 128"));
  EXPECT_THAT(errorOf("net 10.0.0.0/"), HasSubstr("the prefix length must be a number"));
  EXPECT_THAT(errorOf("net 10.0.0.0/-1"), HasSubstr("the prefix length must be a number"));
  EXPECT_THAT(errorOf("net 1.2.3.4.5"), HasSubstr("is not an IPv4 network"));
  EXPECT_THAT(errorOf("net 10..0"), HasSubstr("is not an IPv4 network"));
  EXPECT_THAT(errorOf("net 256/8"), HasSubstr("is not an IPv4 network"));
  EXPECT_THAT(errorOf("net corp.example/8"), HasSubstr("names are not resolved"));
  EXPECT_THAT(errorOf("net ::1 mask ffff::"), HasSubstr("`mask` is for IPv4 only"));
  EXPECT_THAT(errorOf("net 10.0.0.0 mask 255.0"), HasSubstr("is not an IPv4 netmask"));
  EXPECT_THAT(errorOf("net 10.0.0.0/8 mask 255.0.0.0"), HasSubstr("either /LEN or `mask`"));
  EXPECT_THAT(errorOf("net 10.0.0.0 mask"), HasSubstr("`mask` needs a value at offset 17"));
  EXPECT_THAT(errorOf("mask 255.0.0.0"), HasSubstr("`mask` must follow `net ADDRESS`"));
}

// ---- port / portrange ----

TEST(MatchPortTest, UnqualifiedPortMatchesEitherEnd) {
  EXPECT_EQ(evaluate("port 443", outbound4()), kYes);
  EXPECT_EQ(evaluate("port 40000", outbound4()), kYes);
  EXPECT_EQ(evaluate("port 80", outbound4()), kNo);
}

TEST(MatchPortTest, PortBoundsZeroAnd65535AreAccepted) {
  EXPECT_EQ(evaluate("port 0", outbound4(0)), kYes);
  EXPECT_EQ(evaluate("port 65535", outbound4(65535)), kYes);
  EXPECT_EQ(evaluate("port 00443", outbound4()), kYes);
}

TEST(MatchPortTest, PortAbove65535IsRefused) {
  EXPECT_EQ(errorOf("port 65536"),
            "TAP_MATCH: port 65536 is out of range (0 to 65535) at offset 5");
  EXPECT_THAT(errorOf("port 99999999999999999999"), HasSubstr("out of range"));
}

TEST(MatchPortTest, ServiceNamesAndSignsAreRefused) {
  EXPECT_THAT(errorOf("port https"),
              HasSubstr("port `https` is not a number (service names are not resolved)"));
  EXPECT_THAT(errorOf("port -1"), HasSubstr("is not a number"));
  EXPECT_THAT(errorOf("port +1"), HasSubstr("is not a number"));
}

TEST(MatchPortTest, PortRangeIncludesBothBounds) {
  EXPECT_EQ(evaluate("portrange 400-443", outbound4()), kYes);
  EXPECT_EQ(evaluate("portrange 443-500", outbound4()), kYes);
  EXPECT_EQ(evaluate("portrange 443-443", outbound4()), kYes);
  EXPECT_EQ(evaluate("portrange 444-500", inbound4(8080)), kNo);
  EXPECT_EQ(evaluate("portrange 0-65535", outbound4()), kYes);
}

TEST(MatchPortTest, ReversedPortRangeIsRefused) {
  EXPECT_EQ(errorOf("portrange 90-80"),
            "TAP_MATCH: portrange `90-80` is empty (its first port is above its last) at offset "
            "10");
}

TEST(MatchPortTest, MalformedPortRangesAreRefused) {
  EXPECT_THAT(errorOf("portrange 80"), HasSubstr("is not of the form FIRST-LAST"));
  EXPECT_THAT(errorOf("portrange 80-"), HasSubstr("empty port"));
  EXPECT_THAT(errorOf("portrange 80-70000"), HasSubstr("port 70000 is out of range"));
  EXPECT_THAT(errorOf("portrange 1-2-3"), HasSubstr("is not a number"));
}

// ---- src / dst ----

TEST(MatchDirectionTest, SrcIsTheLocalEndOfAnOutboundConnection) {
  EXPECT_EQ(evaluate("src port 40000", outbound4()), kYes);
  EXPECT_EQ(evaluate("src port 443", outbound4()), kNo);
  EXPECT_EQ(evaluate("dst port 443", outbound4()), kYes);
  EXPECT_EQ(evaluate("dst port 40000", outbound4()), kNo);
}

TEST(MatchDirectionTest, SrcIsThePeerOfAnInboundConnection) {
  EXPECT_EQ(evaluate("src host 192.0.2.7", inbound4()), kYes);
  EXPECT_EQ(evaluate("src host 10.0.0.5", inbound4()), kNo);
  EXPECT_EQ(evaluate("dst host 10.0.0.5", inbound4()), kYes);
  EXPECT_EQ(evaluate("dst port 8080", inbound4()), kYes);
  EXPECT_EQ(evaluate("src port 8080", inbound4()), kNo);
}

TEST(MatchDirectionTest, DstPort443SelectsClientAndServerConnectionsToPort443) {
  // design.md §3: this program's connections to 443, and those it accepted on 443.
  EXPECT_EQ(evaluate("dst port 443", outbound4(443)), kYes);
  EXPECT_EQ(evaluate("dst port 443", inbound4(443)), kYes);
  EXPECT_EQ(evaluate("dst port 443", inbound4(8443)), kNo);
}

TEST(MatchDirectionTest, SrcOrDstAndSrcAndDstAreTcpdumpsCombinedQualifiers) {
  EXPECT_EQ(evaluate("src or dst port 40000", outbound4()), kYes);
  EXPECT_EQ(evaluate("dst or src port 443", outbound4()), kYes);
  EXPECT_EQ(evaluate("src and dst net 10.0.0.0/8", outbound4()), kNo);
  EXPECT_EQ(evaluate("dst and src net 0.0.0.0/0", outbound4()), kYes);
  EXPECT_EQ(evaluate("src || dst port 443", outbound4()), kYes);
}

TEST(MatchDirectionTest, DirectionWithoutTypeMeansHostAsInTcpdump) {
  EXPECT_EQ(evaluate("src 10.0.0.5", outbound4()), kYes);
  EXPECT_EQ(evaluate("dst 10.0.0.5", outbound4()), kNo);
  EXPECT_EQ(evaluate("dst 93.184.216.34 or 1.1.1.1", outbound4()), kYes);
}

TEST(MatchDirectionTest, DirectionCannotQualifyOtherTerms) {
  EXPECT_THAT(errorOf("src tls"),
              HasSubstr("`src` and `dst` qualify host, net, port or portrange, not `tls` at "
                        "offset 4"));
  EXPECT_THAT(errorOf("dst proc curl"), HasSubstr("not `proc`"));
  EXPECT_THAT(errorOf("src"), HasSubstr("`src` needs a value at offset 3"));
  EXPECT_THAT(errorOf("src and port 80"), HasSubstr("`src` needs a value at offset 4"));
}

// ---- adopted sockets ----

TEST(MatchAdoptedTest, QualifiedTermsMatchEitherSideWhenTheOpenerIsUnknown) {
  EXPECT_EQ(evaluate("src port 8080", adopted()), kYes);
  EXPECT_EQ(evaluate("dst port 8080", adopted()), kYes);
  EXPECT_EQ(evaluate("src port 51000", adopted()), kYes);
  EXPECT_EQ(evaluate("dst host 192.0.2.7", adopted()), kYes);
  EXPECT_EQ(evaluate("src port 80", adopted()), kNo);
}

TEST(MatchAdoptedTest, SrcAndDstNeedsBothSidesEvenWhenTheOpenerIsUnknown) {
  EXPECT_EQ(evaluate("src and dst portrange 8080-51000", adopted()), kYes);
  EXPECT_EQ(evaluate("src and dst port 8080", adopted()), kNo);
}

TEST(MatchAdoptedTest, NeitherInboundNorOutbound) {
  EXPECT_EQ(evaluate("inbound", adopted()), kNo);
  EXPECT_EQ(evaluate("outbound", adopted()), kNo);
  EXPECT_EQ(evaluate("not inbound and not outbound", adopted()), kYes);
}

// ---- protocols and families ----

TEST(MatchFamilyTest, TcpIsEveryIpv4AndIpv6Connection) {
  EXPECT_EQ(evaluate("tcp", outbound4()), kYes);
  EXPECT_EQ(evaluate("tcp", outbound6()), kYes);
  EXPECT_EQ(evaluate("tcp", mapped()), kYes);
}

TEST(MatchFamilyTest, IpIsIpv4AndIp6IsIpv6) {
  EXPECT_EQ(evaluate("ip", outbound4()), kYes);
  EXPECT_EQ(evaluate("ip6", outbound4()), kNo);
  EXPECT_EQ(evaluate("ip", outbound6()), kNo);
  EXPECT_EQ(evaluate("ip6", outbound6()), kYes);
}

TEST(MatchFamilyTest, ProtocolQualifiesAPrimitiveAsInTcpdump) {
  EXPECT_EQ(evaluate("tcp port 443", outbound4()), kYes);
  EXPECT_EQ(evaluate("tcp dst port 443", outbound4()), kYes);
  EXPECT_EQ(evaluate("ip6 port 443", outbound4()), kNo);
  EXPECT_EQ(evaluate("ip6 port 443", outbound6()), kYes);
  EXPECT_EQ(evaluate("ip src 10.0.0.5", outbound4()), kYes);
  EXPECT_EQ(evaluate("ip6 net 2001:db8::/32", outbound6()), kYes);
}

TEST(MatchFamilyTest, ProtocolThatContradictsItsAddressIsRefused) {
  EXPECT_THAT(errorOf("ip host ::1"), HasSubstr("`ip` with an IPv6 address never matches"));
  EXPECT_THAT(errorOf("ip6 net 10.0.0.0/8"), HasSubstr("`ip6` with an IPv4 address"));
}

TEST(MatchFamilyTest, Ipv4MappedAddressesAreIpv4AsOnTheWire) {
  EXPECT_EQ(evaluate("ip", mapped()), kYes);
  EXPECT_EQ(evaluate("ip6", mapped()), kNo);
  EXPECT_EQ(evaluate("host 127.0.0.1", mapped()), kYes);
  EXPECT_EQ(evaluate("net 127.0.0.0/8", mapped()), kYes);
  EXPECT_EQ(evaluate("dst host 127.0.0.1 and src net 10", mapped()), kYes);
  EXPECT_EQ(evaluate("net ::/0", mapped()), kNo);
}

TEST(MatchFamilyTest, Ipv4MappedLiteralsInTheExpressionAreIpv4) {
  EXPECT_EQ(evaluate("host ::ffff:93.184.216.34", outbound4()), kYes);
  EXPECT_EQ(evaluate("host ::ffff:127.0.0.1", mapped()), kYes);
  EXPECT_EQ(evaluate("net ::ffff:93.184.0.0/112", outbound4()), kYes);
  EXPECT_EQ(evaluate("net ::ffff:0:0/96", outbound4()), kYes);
  EXPECT_EQ(evaluate("ip host ::ffff:10.0.0.5", outbound4()), kYes);
}

TEST(MatchFamilyTest, FamilyComesFromTheAddressesWhenNotGiven) {
  Connection v4(Origin::kOutbound, 0, Address::ip("10.0.0.5", 1), Address::ip("10.0.0.6", 2));
  Connection v6(Origin::kOutbound, 0, Address::ip("::1", 1), Address::ip("::1", 2));
  Connection pipe(Origin::kOutbound, 0, Address::pipe(""), Address::pipe("/s"));
  EXPECT_EQ(evaluate("ip", v4), kYes);
  EXPECT_EQ(evaluate("ip6", v6), kYes);
  EXPECT_EQ(evaluate("unix", pipe), kYes);
  EXPECT_EQ(evaluate("tcp", pipe), kNo);
}

// ---- unix ----

TEST(MatchUnixTest, UnixSocketsAreLeftAloneUnlessTheExpressionNamesUnix) {
  EXPECT_EQ(evaluate("not port 80", unixSocket()), kNo);
  EXPECT_EQ(evaluate("outbound", unixSocket()), kNo);
  EXPECT_EQ(evaluate("unix", unixSocket()), kYes);
  EXPECT_EQ(evaluate("unix or port 80", unixSocket()), kYes);
}

TEST(MatchUnixTest, UnixIsNotTcpAndAddressTermsNeverMatchIt) {
  EXPECT_EQ(evaluate("unix and tcp", unixSocket()), kNo);
  EXPECT_EQ(evaluate("unix and (ip or ip6)", unixSocket()), kNo);
  EXPECT_EQ(evaluate("unix and port 0", unixSocket()), kNo);
  EXPECT_EQ(evaluate("unix and net 0.0.0.0/0", unixSocket()), kNo);
  EXPECT_EQ(evaluate("unix and not portrange 0-65535", unixSocket()), kYes);
}

TEST(MatchUnixTest, UnixCombinesWithDirectionAndProcess) {
  EXPECT_EQ(evaluate("unix and inbound", unixSocket(Origin::kInbound)), kYes);
  EXPECT_EQ(evaluate("unix and proc app", unixSocket()), kYes);
  EXPECT_EQ(evaluate("unix", outbound4()), kNo);
}

TEST(MatchUnixTest, WantsUnixOnlyWhenNamed) {
  std::string error;
  EXPECT_TRUE(MatchExpression::parse("port 80 or unix", &error)->wantsUnix());
  EXPECT_TRUE(MatchExpression::parse("not unix", &error)->wantsUnix());
  EXPECT_FALSE(MatchExpression::parse("port 80 or tls", &error)->wantsUnix());
  EXPECT_FALSE(MatchExpression::parse("proc unix", &error)->wantsUnix());
}

// ---- inbound / outbound ----

TEST(MatchOriginTest, InboundIsAcceptedAndOutboundIsConnected) {
  EXPECT_EQ(evaluate("inbound", inbound4()), kYes);
  EXPECT_EQ(evaluate("outbound", inbound4()), kNo);
  EXPECT_EQ(evaluate("outbound", outbound4()), kYes);
  EXPECT_EQ(evaluate("inbound", outbound6()), kNo);
}

// ---- tls ----

TEST(MatchTlsTest, TlsIsUndecidedUntilKnown) {
  EXPECT_EQ(evaluate("tls", outbound4()), kUndecided);
  EXPECT_EQ(evaluate("tls", outbound4().tls(Tls::kYes)), kYes);
  EXPECT_EQ(evaluate("tls", outbound4().tls(Tls::kNo)), kNo);
}

TEST(MatchTlsTest, AFalseConjunctDecidesWithoutTls) {
  EXPECT_EQ(evaluate("port 80 and tls", outbound4(443)), kNo);
  EXPECT_EQ(evaluate("tls and port 80", outbound4(443)), kNo);
}

TEST(MatchTlsTest, ATrueConjunctLeavesItToTls) {
  EXPECT_EQ(evaluate("port 443 and tls", outbound4(443)), kUndecided);
  EXPECT_EQ(evaluate("port 443 and tls", outbound4(443).tls(Tls::kYes)), kYes);
  EXPECT_EQ(evaluate("port 443 and tls", outbound4(443).tls(Tls::kNo)), kNo);
}

TEST(MatchTlsTest, ATrueDisjunctDecidesWithoutTls) {
  EXPECT_EQ(evaluate("port 443 or tls", outbound4(443)), kYes);
  EXPECT_EQ(evaluate("tls or port 443", outbound4(443)), kYes);
  EXPECT_EQ(evaluate("port 80 or tls", outbound4(443)), kUndecided);
}

TEST(MatchTlsTest, NotKeepsUndecidedAndFlipsKnownValues) {
  EXPECT_EQ(evaluate("not tls", outbound4()), kUndecided);
  EXPECT_EQ(evaluate("not tls", outbound4().tls(Tls::kYes)), kNo);
  EXPECT_EQ(evaluate("!tls", outbound4().tls(Tls::kNo)), kYes);
  EXPECT_EQ(evaluate("not (port 80 and tls)", outbound4(443)), kYes);
  EXPECT_EQ(evaluate("not (port 443 and tls)", outbound4(443)), kUndecided);
}

TEST(MatchTlsTest, UndecidedThroughNestedAndOr) {
  EXPECT_EQ(evaluate("(tls or port 80) and inbound", outbound4(443)), kNo);
  EXPECT_EQ(evaluate("(tls or port 80) and outbound", outbound4(443)), kUndecided);
  EXPECT_EQ(evaluate("(tls and not tls) or port 443", outbound4(443)), kYes);
  EXPECT_EQ(evaluate("tls and not tls", outbound4(443)), kUndecided);  // Kleene, not boolean
}

TEST(MatchTlsTest, UsesTlsOnlyWhenMentioned) {
  std::string error;
  EXPECT_TRUE(MatchExpression::parse("port 443 and not tls", &error)->usesTls());
  EXPECT_FALSE(MatchExpression::parse("port 443", &error)->usesTls());
}

// ---- proc ----

TEST(MatchProcTest, ProcIsAnExactCaseSensitiveMatchOnTheProgramName) {
  EXPECT_EQ(evaluate("proc curl", outbound4().process("curl")), kYes);
  EXPECT_EQ(evaluate("proc curl", outbound4().process("curl2")), kNo);
  EXPECT_EQ(evaluate("proc cur", outbound4().process("curl")), kNo);
  EXPECT_EQ(evaluate("proc Curl", outbound4().process("curl")), kNo);
}

TEST(MatchProcTest, FifteenCharactersIsTheLongestName) {
  EXPECT_EQ(evaluate("proc abcdefghijklmno", outbound4().process("abcdefghijklmno")), kYes);
  EXPECT_THAT(errorOf("proc abcdefghijklmnop"),
              HasSubstr("longer than 15 characters and can never match"));
  EXPECT_THAT(errorOf("proc abcdefghijklmnop"), HasSubstr("`abcdefghijklmno`"));
}

TEST(MatchProcTest, QuotesAllowSpacesAndKeywordsInNames) {
  EXPECT_EQ(evaluate("proc \"Web Content\"", outbound4().process("Web Content")), kYes);
  EXPECT_EQ(evaluate("proc \"not\"", outbound4().process("not")), kYes);
  EXPECT_EQ(evaluate("proc tcp", outbound4().process("tcp")), kYes);
  EXPECT_EQ(evaluate("proc python3.11", outbound4().process("python3.11")), kYes);
}

TEST(MatchProcTest, ProcNeedsAName) {
  EXPECT_THAT(errorOf("proc"), HasSubstr("`proc` needs a value at offset 4"));
  EXPECT_THAT(errorOf("proc and port 80"), HasSubstr("`proc` needs a value at offset 5"));
  EXPECT_THAT(errorOf("proc \"\""), HasSubstr("empty process name"));
}

// ---- operators, precedence, associativity ----

TEST(MatchOperatorTest, WordAndSymbolOperatorsAreTheSame) {
  EXPECT_EQ(evaluate("port 443 && outbound", outbound4()), kYes);
  EXPECT_EQ(evaluate("port 80 || outbound", outbound4()), kYes);
  EXPECT_EQ(evaluate("! port 80", outbound4()), kYes);
  EXPECT_EQ(evaluate("!port 443", outbound4()), kNo);
  EXPECT_EQ(evaluate("(port 443)&&(outbound)", outbound4()), kYes);
}

TEST(MatchOperatorTest, NotBindsTighterThanAnd) {
  // (not port 80) and port 443, not not (port 80 and port 443).
  EXPECT_EQ(evaluate("not port 80 and port 443", outbound4()), kYes);
  EXPECT_EQ(evaluate("not port 443 and port 40000", outbound4()), kNo);
}

TEST(MatchOperatorTest, NotBindsTighterThanOr) {
  EXPECT_EQ(evaluate("not port 443 or port 40000", outbound4()), kYes);
  EXPECT_EQ(evaluate("not (port 443 or port 40000)", outbound4()), kNo);
}

TEST(MatchOperatorTest, AndAndOrHaveEqualPrecedenceLeftToRightAsInPcapFilter) {
  // a or b and c == (a or b) and c. With C-like precedence it would be
  // a or (b and c), which is true here.
  EXPECT_EQ(evaluate("port 443 or port 80 and port 81", outbound4()), kNo);
  EXPECT_EQ(evaluate("port 443 or (port 80 and port 81)", outbound4()), kYes);
  // a and b or c == (a and b) or c.
  EXPECT_EQ(evaluate("port 80 and port 81 or port 443", outbound4()), kYes);
  EXPECT_EQ(evaluate("port 80 and (port 81 or port 443)", outbound4()), kNo);
}

TEST(MatchOperatorTest, LongChainsAssociateLeftToRight) {
  // ((((80 or 443) and 40000) or 1) and 2) -> false; ... or 443 at the end -> true.
  EXPECT_EQ(evaluate("port 80 or port 443 and port 40000 or port 1 and port 2", outbound4()), kNo);
  EXPECT_EQ(
      evaluate("port 80 or port 443 and port 40000 or port 1 and port 2 or port 443", outbound4()),
      kYes);
}

TEST(MatchOperatorTest, RepeatedNotCancels) {
  EXPECT_EQ(evaluate("not not port 443", outbound4()), kYes);
  EXPECT_EQ(evaluate("!!!port 443", outbound4()), kNo);
}

TEST(MatchOperatorTest, NestedParenthesesUpToTheLimit) {
  std::string deep;
  for (int i = 0; i < 64; ++i) deep += "tcp port 1 or (";
  deep += "tcp port 443 and tcp port 40000";
  for (int i = 0; i < 64; ++i) deep += ")";
  EXPECT_EQ(evaluate(deep, outbound4()), kYes);
  EXPECT_THAT(errorOf("(" + deep + ")"), HasSubstr("parentheses nested deeper than 64"));
}

TEST(MatchOperatorTest, VeryLongFlatChainsNeedNoDeepStack) {
  std::string chain = "port 1";
  for (int i = 2; i < 5000; ++i) chain += " or port " + std::to_string(i);
  EXPECT_EQ(evaluate(chain, outbound4(443)), kYes);
  EXPECT_EQ(evaluate(chain + " and port 80", outbound4(443)), kNo);
}

// ---- shorthand ----

TEST(MatchShorthandTest, BareValueRepeatsThePreviousKeyword) {
  EXPECT_EQ(evaluate("port 80 or 443", outbound4(443)), kYes);
  EXPECT_EQ(evaluate("port 80 or 8080", outbound4(443)), kNo);
  EXPECT_EQ(evaluate("host 1.1.1.1 or 93.184.216.34", outbound4()), kYes);
  EXPECT_EQ(evaluate("portrange 1-2 or 440-450", outbound4()), kYes);
  EXPECT_EQ(evaluate("net 10.0.0.0 mask 255.0.0.0 or 192.168.0.0 mask 255.255.0.0", outbound4()),
            kYes);
}

TEST(MatchShorthandTest, DirectionAndProtocolAreRepeatedToo) {
  // src port 443 or src port 40000: only the second holds.
  EXPECT_EQ(evaluate("src port 443 or 40000", outbound4()), kYes);
  EXPECT_EQ(evaluate("src port 443 or 1", outbound4()), kNo);
  EXPECT_EQ(evaluate("ip6 port 1 or 443", outbound4()), kNo);
  EXPECT_EQ(evaluate("ip6 port 1 or 443", outbound6()), kYes);
}

TEST(MatchShorthandTest, NotBeforeABareValueNegatesOnlyThatValue) {
  // pcap-filter's example: `not host vs and ace` is `not host vs and host ace`.
  EXPECT_EQ(evaluate("not host 1.1.1.1 and 93.184.216.34", outbound4()), kYes);
  EXPECT_EQ(evaluate("port 443 and not 40000", outbound4()), kNo);
  EXPECT_EQ(evaluate("port 443 and not 1", outbound4()), kYes);
}

TEST(MatchShorthandTest, BareValuesInsideParenthesesUseTheQualifiersBeforeThem) {
  EXPECT_EQ(evaluate("port 1 or (2 or 443)", outbound4()), kYes);
  EXPECT_EQ(evaluate("dst port 1 or (2 or 40000)", outbound4()), kNo);
}

TEST(MatchShorthandTest, AParenthesisedGroupLeavesTheQualifiersAsBefore) {
  // After `(src port 1)`, `443` is a port again: the group changed nothing.
  EXPECT_EQ(evaluate("port 2 or (src port 1) or 443", outbound4()), kYes);
  EXPECT_EQ(evaluate("port 2 or (host 1.1.1.1) or 443", outbound4()), kYes);
  EXPECT_THAT(errorOf("(port 1) or 443"), HasSubstr("`443` needs a keyword before it"));
}

TEST(MatchShorthandTest, ProcNamesCanBeListedToo) {
  EXPECT_EQ(evaluate("proc curl or wget", outbound4().process("wget")), kYes);
  EXPECT_EQ(evaluate("proc curl or wget", outbound4().process("app")), kNo);
}

TEST(MatchShorthandTest, KeywordsStayKeywordsAfterAnOperator) {
  EXPECT_EQ(evaluate("port 80 or tls", outbound4().tls(Tls::kYes)), kYes);
  EXPECT_THAT(errorOf("port 80 or udp"), HasSubstr("`udp` is a pcap-filter keyword"));
}

TEST(MatchShorthandTest, ValueWithoutAKeywordIsRefused) {
  EXPECT_EQ(errorOf("443"),
            "TAP_MATCH: `443` needs a keyword before it (host, net, port, portrange or proc) at "
            "offset 0");
  EXPECT_THAT(errorOf("10.0.0.1"), HasSubstr("needs a keyword before it"));
  EXPECT_THAT(errorOf("tcp and 443"), HasSubstr("`443` needs a keyword before it"));
  EXPECT_THAT(errorOf("tcp and 443"), HasSubstr("at offset 8"));
  EXPECT_THAT(errorOf("port 80 or inbound or 443"), HasSubstr("at offset 22"));
}

TEST(MatchShorthandTest, AWordThatCannotBeAValueIsTakenForAMistypedKeyword) {
  EXPECT_EQ(errorOf("port 80 or inbond"), "TAP_MATCH: unknown keyword `inbond` at offset 11");
  EXPECT_EQ(errorOf("host ::1 or localhost"),
            "TAP_MATCH: unknown keyword `localhost` at offset 12");
  EXPECT_THAT(errorOf("host ::1 or fe80::1%lo"), HasSubstr("is not an IPv6 address"));
  EXPECT_EQ(evaluate("host 1.1.1.1 or abcd::1", outbound4()), kNo);
}

TEST(MatchShorthandTest, ShorthandValuesAreCheckedLikeAnyOther) {
  EXPECT_THAT(errorOf("port 80 or 70000"), HasSubstr("port 70000 is out of range"));
  EXPECT_THAT(errorOf("host 10.0.0.1 or example.com"),
              HasSubstr("`example.com` is not an IP address (names are not resolved"));
}

// ---- errors ----

TEST(MatchErrorTest, EmptyExpressionIsRefused) {
  EXPECT_EQ(errorOf(""), "TAP_MATCH: empty expression at offset 0");
  EXPECT_EQ(errorOf("  \t "), "TAP_MATCH: empty expression at offset 4");
}

TEST(MatchErrorTest, UnknownKeywordIsNamed) {
  EXPECT_EQ(errorOf("port 80 and bogus"), "TAP_MATCH: unknown keyword `bogus` at offset 12");
  EXPECT_THAT(errorOf("PORT 80"), HasSubstr("unknown keyword `PORT` (keywords are lower case)"));
  EXPECT_EQ(errorOf("port 80 AND port 81"),
            "TAP_MATCH: unexpected `AND` (expected `and`, `or` or the end; keywords are lower "
            "case) at offset 8");
}

TEST(MatchErrorTest, PcapKeywordsThatDoNotApplyAreExplained) {
  EXPECT_EQ(errorOf("udp"),
            "TAP_MATCH: `udp` is a pcap-filter keyword that does not apply to a TCP connection at "
            "offset 0");
  EXPECT_THAT(errorOf("ether host 00:11:22:33:44:55"), HasSubstr("`ether` is a pcap-filter"));
  EXPECT_THAT(errorOf("tcp and icmp"), HasSubstr("at offset 8"));
}

TEST(MatchErrorTest, MissingOperandsAreLocated) {
  EXPECT_EQ(errorOf("port"), "TAP_MATCH: `port` needs a value at offset 4");
  EXPECT_EQ(errorOf("port 80 and"),
            "TAP_MATCH: expected a term after `and`, found the end at offset 11");
  EXPECT_EQ(errorOf("port 80 or or port 81"),
            "TAP_MATCH: expected a term after `or`, found `or` at offset 11");
  EXPECT_EQ(errorOf("and port 80"), "TAP_MATCH: expected a term, found `and` at offset 0");
  EXPECT_EQ(errorOf("not"), "TAP_MATCH: expected a term after `not`, found the end at offset 3");
  EXPECT_EQ(errorOf("port 80 && !"),
            "TAP_MATCH: expected a term after `!`, found the end at offset 12");
  EXPECT_THAT(errorOf("host"), HasSubstr("`host` needs a value"));
  EXPECT_THAT(errorOf("net ("), HasSubstr("`net` needs a value at offset 4"));
  EXPECT_THAT(errorOf("portrange"), HasSubstr("`portrange` needs a value"));
  EXPECT_THAT(errorOf("tcp port"), HasSubstr("`port` needs a value at offset 8"));
}

TEST(MatchErrorTest, UnbalancedParenthesesAreLocated) {
  EXPECT_EQ(errorOf("(port 80"), "TAP_MATCH: unmatched `(` at offset 0");
  EXPECT_EQ(errorOf("port 80 or (port 81 or (port 82)"), "TAP_MATCH: unmatched `(` at offset 11");
  EXPECT_EQ(errorOf("port 80)"), "TAP_MATCH: unmatched `)` at offset 7");
  EXPECT_EQ(errorOf(")"), "TAP_MATCH: expected a term, found `)` at offset 0");
  EXPECT_EQ(errorOf("()"), "TAP_MATCH: empty parentheses at offset 0");
  EXPECT_EQ(errorOf("port 80 and ()"), "TAP_MATCH: empty parentheses at offset 12");
  EXPECT_EQ(errorOf("(port 80 port 81)"),
            "TAP_MATCH: unexpected `port` (expected `and`, `or` or `)`) at offset 9");
}

TEST(MatchErrorTest, TrailingGarbageIsRefused) {
  EXPECT_EQ(errorOf("port 80 443"),
            "TAP_MATCH: unexpected `443` (expected `and`, `or` or the end) at offset 8");
  EXPECT_THAT(errorOf("tcp udp"), HasSubstr("unexpected `udp`"));
  EXPECT_THAT(errorOf("port 80 (tls)"), HasSubstr("unexpected `(`"));
  EXPECT_THAT(errorOf("tls tls"), HasSubstr("at offset 4"));
}

TEST(MatchErrorTest, LexicalErrorsAreLocated) {
  EXPECT_EQ(errorOf("port 80 & port 81"),
            "TAP_MATCH: a single `&` is not an operator (use `&&` or `and`) at offset 8");
  EXPECT_EQ(errorOf("port 80 | port 81"),
            "TAP_MATCH: a single `|` is not an operator (use `||` or `or`) at offset 8");
  EXPECT_EQ(errorOf("proc \"abc"), "TAP_MATCH: unterminated quote at offset 5");
  EXPECT_EQ(errorOf(std::string_view("port\0 80", 8)),
            "TAP_MATCH: unexpected control character 0x00 at offset 4");
  EXPECT_EQ(errorOf("port 80\x1b"), "TAP_MATCH: unexpected control character 0x1b at offset 7");
}

TEST(MatchErrorTest, LongTokensAreShortenedInMessages) {
  const std::string error = errorOf("port 80 " + std::string(200, 'x'));
  EXPECT_LT(error.size(), 120u) << error;
  EXPECT_THAT(error, HasSubstr("...`"));
}

TEST(MatchErrorTest, WhitespaceOfAnyKindSeparatesTokens) {
  EXPECT_EQ(evaluate("\tport\n443\r\nand\voutbound\f", outbound4()), kYes);
}

// ---- the hot path ----

TEST(MatchEvaluateTest, EvaluationNeverAllocates) {
  std::string error;
  const std::optional<MatchExpression> expression = MatchExpression::parse(
      "(src net 10.0.0.0/8 or dst host 2001:db8:1::443 or host ::ffff:127.0.0.1) and "
      "not portrange 1-1023 or dst port 443 and tls or proc curl or unix or ip6 or inbound",
      &error);
  ASSERT_TRUE(expression) << error;
  const Connection connections[] = {outbound4(), inbound4(),   outbound6(),
                                    mapped(),    unixSocket(), adopted()};
  const long before = allocationCount();
  int yes = 0;
  for (const Connection& connection : connections) {
    yes += expression->evaluate(connection.facts()) == kYes;
  }
  EXPECT_EQ(allocationCount(), before);
  EXPECT_GT(yes, 0);
}

TEST(MatchEvaluateTest, UnknownAddressesMatchNoAddressTerm) {
  Connection unknown(Origin::kOutbound, AF_INET, Address(), Address());
  EXPECT_EQ(evaluate("port 0", unknown), kNo);
  EXPECT_EQ(evaluate("net 0.0.0.0/0", unknown), kNo);
  EXPECT_EQ(evaluate("tcp and ip and outbound", unknown), kYes);
  ConnectionFacts nothing;
  std::string error;
  EXPECT_EQ(MatchExpression::parse("port 1 or tcp or unix", &error)->evaluate(nothing), kNo);
}

}  // namespace
}  // namespace tapshim::core
