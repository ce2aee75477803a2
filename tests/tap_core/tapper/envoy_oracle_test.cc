// The hex example of envoy-tap-format.md 5.1 (made with protoc from
// Envoy's schema), reproduced through the whole buffered path: tapper,
// encoder and sink.
#include <gtest/gtest.h>

#include <string_view>

#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/tapper/buffered_tapper.h"
#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/fake_sink.h"
#include "tests/tap_core/support/proto_test_util.h"

namespace tapshim::testing {
namespace {

using core::Address;

constexpr std::string_view kEnvoyBufferedTraceHex =
    "1a4a"
    "0801"
    "1224"
    "0a10"
    "0a0e"
    "1209"
    "3132372e302e302e31"
    "18e807"
    "1210"
    "0a0e"
    "1208"
    "31302e302e302e33"
    "18d08603"
    "1a0d"
    "0a00"
    "1209"
    "0a07"
    "0a05"
    "68656c6c6f"
    "1a11"
    "0a02"
    "0801"
    "1a0b"
    "0a07"
    "0a05"
    "776f726c64"
    "1001";

core::IoSlices slicesOf(std::string_view text, iovec* storage) {
  *storage = iovec{const_cast<char*>(text.data()), text.size()};
  return core::IoSlices(storage, 1, text.size());
}

TEST(EnvoyOracleTest, BufferedReadWriteEndStreamMatchesEnvoyHex) {
  FakeClock clock;
  FakeSink sink;
  core::ProtoBinaryEncoder encoder;
  core::TraceIds ids;
  core::TapperContext context;
  context.clock = &clock;
  context.sink = &sink;
  context.encoder = &encoder;
  context.ids = &ids;
  context.process = nullptr;  // Envoy's message has no tapshim extension
  core::BufferedTapper tapper(context, /*trace_id=*/1);

  iovec slice;
  clock.setSeconds(0);
  tapper.onRead(slicesOf("hello", &slice));
  clock.setSeconds(1);
  tapper.onWrite(slicesOf("world", &slice));
  // Envoy's end_stream comes with the write; the shim learns of it at
  // shutdown(SHUT_WR), right after.
  tapper.onHalfClose();
  core::ConnectionInfo connection;
  connection.local = Address::ip("127.0.0.1", 1000);
  connection.remote = Address::ip("10.0.0.3", 50000);
  tapper.onClose(connection);

  ASSERT_EQ(sink.outputs().size(), 1u);
  const FakeSink::Output& output = sink.outputs()[0];
  EXPECT_EQ(hex(output.bytes), kEnvoyBufferedTraceHex);
  EXPECT_EQ(output.trace_id, 1u);
  EXPECT_EQ(output.extension, ".pb");
  EXPECT_EQ(output.writes, 1);
  EXPECT_TRUE(output.closed);
}

}  // namespace
}  // namespace tapshim::testing
