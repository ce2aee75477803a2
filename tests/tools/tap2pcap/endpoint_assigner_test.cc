#include "tools/tap2pcap/endpoint_assigner.h"

#include <gtest/gtest.h>

#include "tests/tools/trace_builder.h"

namespace tapshim::tap2pcap {
namespace {

TraceSummary trace(std::optional<envoy::config::core::v3::Address> local,
                   std::optional<envoy::config::core::v3::Address> remote) {
  TraceSummary summary;
  summary.local = std::move(local);
  summary.remote = std::move(remote);
  return summary;
}

using testing::ipAddress;
using testing::pipeAddress;

TEST(EndpointAssignerTest, RealAddressesStay) {
  EndpointAssigner assigner;
  const auto got = assigner.assign(trace(ipAddress("10.0.0.1", 50000), ipAddress("10.0.0.2", 80)));
  EXPECT_EQ(got.local.toString(), "10.0.0.1:50000");
  EXPECT_EQ(got.remote.toString(), "10.0.0.2:80");
  EXPECT_TRUE(got.local_is_client);
  EXPECT_EQ(got.note, "");
}

TEST(EndpointAssignerTest, FakesAreUniqueAndFollowTheFamily) {
  EndpointAssigner assigner;
  const auto unix_socket = assigner.assign(trace(pipeAddress("/s"), pipeAddress("@a")));
  EXPECT_EQ(unix_socket.local.toString(), "198.18.0.1:10000");
  EXPECT_EQ(unix_socket.remote.toString(), "198.18.0.1:10001");
  EXPECT_NE(unix_socket.note.find("unix socket /s shown as 198.18.0.1:10000"), std::string::npos);
  const auto no_port = assigner.assign(trace(ipAddress("::1", 0), ipAddress("::1", 443)));
  EXPECT_EQ(no_port.local.toString(), "[2001:2::1]:10002");
  EXPECT_EQ(no_port.remote.toString(), "[::1]:443");
  const auto missing = assigner.assign(trace(std::nullopt, ipAddress("10.0.0.2", 80)));
  EXPECT_EQ(missing.local.toString(), "198.18.0.1:10003");
}

TEST(EndpointAssignerTest, MixedFamiliesBecomeIpv6) {
  EndpointAssigner assigner;
  const auto got = assigner.assign(trace(ipAddress("10.0.0.1", 5), ipAddress("::1", 6)));
  EXPECT_EQ(got.local.toString(), "[::ffff:10.0.0.1]:5");
}

TEST(EndpointAssignerTest, SameFourTupleTwiceGetsAFakeClient) {
  EndpointAssigner assigner;
  assigner.assign(trace(ipAddress("127.0.0.1", 45000), ipAddress("127.0.0.1", 8080)));
  const auto server_side =
      assigner.assign(trace(ipAddress("127.0.0.1", 8080), ipAddress("127.0.0.1", 45000)));
  EXPECT_EQ(server_side.local.toString(), "127.0.0.1:8080");
  EXPECT_EQ(server_side.remote.toString(), "198.18.0.1:10000");
  EXPECT_FALSE(server_side.local_is_client);
  EXPECT_NE(server_side.note.find("same addresses and ports"), std::string::npos);
}

}  // namespace
}  // namespace tapshim::tap2pcap
