// TapEngine with fakes: the test plays the preload layer (which call
// returned what on which fd) and the kernel (FakeSocketProbe), and reads
// the traces that reached the FakeSink.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tap_core/base/diagnostics.h"
#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/engine/tap_engine.h"
#include "tests/tap_core/fakes/fake_clock.h"
#include "tests/tap_core/fakes/fake_sink.h"
#include "tests/tap_core/fakes/fake_socket_probe.h"
#include "tests/tap_core/support/proto_test_util.h"

namespace tapshim::testing {
namespace {

using core::Address;
using core::Direction;

const Address kClient = Address::ip("10.0.0.1", 40000);
const Address kServer = Address::ip("93.184.216.34", 443);
const Address kOtherServer = Address::ip("2001:db8::1", 8443);

// "connection { local_address {...} remote_address {...} }"
std::string connectionText(const Address& local, const Address& remote) {
  auto address = [](const Address& a) {
    return "{ socket_address { address: \"" + std::string(a.textView()) +
           "\" port_value: " + std::to_string(a.port) + " } }";
  };
  return "connection { local_address " + address(local) + " remote_address " + address(remote) +
         " }";
}

std::string traceText(uint64_t id, const std::string& connection, std::string_view events = "") {
  return "socket_buffered_trace { trace_id: " + std::to_string(id) + " " + connection + " " +
         std::string(events) + " }";
}

class TapEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.enabled = true;
    config_.path_prefix = "unused";
    ids_.setHighForTesting(0);  // trace ids 0, 1, 2, ... as in Envoy
    engine_ = std::make_unique<core::TapEngine>(config_, clock_, sink_, encoder_, probe_, ids_);
  }

  // connect(fd, server) from kClient; the probe says whether it is
  // connected yet (a non-blocking connect in progress is not).
  void connect(int fd, const Address& server = kServer, bool completed = true) {
    probe_.addTcp(fd, kClient, completed ? server : Address{});
    sockaddr_storage storage{};
    socklen_t length = 0;
    const std::string ip(server.textView());
    if (ip.find(':') == std::string::npos) {
      auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      in->sin_family = AF_INET;
      in->sin_port = htons(server.port);
      inet_pton(AF_INET, ip.c_str(), &in->sin_addr);
      length = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(server.port);
      inet_pton(AF_INET6, ip.c_str(), &in6->sin6_addr);
      length = sizeof(sockaddr_in6);
    }
    engine_->onConnect(fd, reinterpret_cast<sockaddr*>(&storage), length, completed);
  }

  void data(int fd, Direction direction, std::string_view bytes) {
    iovec slice{const_cast<char*>(bytes.data()), bytes.size()};
    engine_->onData(fd, direction, core::IoSlices(&slice, 1, bytes.size()));
  }
  // TAP_MATCH for the engine made from now on.
  void useMatch(std::string_view expression) {
    std::string error;
    config_.match = core::MatchExpression::parse(expression, &error);
    ASSERT_TRUE(config_.match.has_value()) << error;
    engine_ = std::make_unique<core::TapEngine>(config_, clock_, sink_, encoder_, probe_, ids_);
  }
  // What a TLS library does on `fd` for `session`: its handshake's socket
  // I/O, then plaintext the program writes.
  void tlsWrite(const void* session, int fd, std::string_view plaintext) {
    engine_->onTlsSocketIo(session, fd);
    iovec slice{const_cast<char*>(plaintext.data()), plaintext.size()};
    engine_->onTlsData(session, Direction::kWrite, core::IoSlices(&slice, 1, plaintext.size()),
                       nullptr);
  }
  void send(int fd, std::string_view bytes) { data(fd, Direction::kWrite, bytes); }
  void receive(int fd, std::string_view bytes) { data(fd, Direction::kRead, bytes); }

  // Every trace written so far, decoded. The process extension is checked
  // here and then dropped, so that scenarios compare Envoy's fields only.
  std::vector<TraceWrapper> traces() {
    std::vector<TraceWrapper> decoded;
    for (const FakeSink::Output& output : sink_.outputs()) {
      EXPECT_TRUE(output.closed);
      TraceWrapper trace = parseTrace(output.bytes);
      auto* buffered = trace.mutable_socket_buffered_trace();
      EXPECT_EQ(buffered->tapshim_process().pid(), static_cast<uint32_t>(getpid()));
      buffered->clear_tapshim_process();
      decoded.push_back(std::move(trace));
    }
    return decoded;
  }

  // The tapshim extension's connection_origin of the one trace written.
  envoy::data::tap::v3::TapshimProcess::ConnectionOrigin onlyTraceOrigin() {
    EXPECT_EQ(sink_.outputs().size(), 1u);
    if (sink_.outputs().empty()) return envoy::data::tap::v3::TapshimProcess::UNKNOWN;
    return parseTrace(sink_.outputs()[0].bytes)
        .socket_buffered_trace()
        .tapshim_process()
        .connection_origin();
  }

  core::Config config_;
  FakeClock clock_;
  FakeSink sink_;
  core::ProtoBinaryEncoder encoder_;
  FakeSocketProbe probe_;
  core::TraceIds ids_;
  std::unique_ptr<core::TapEngine> engine_;
};

TEST_F(TapEngineTest, ConnectDataCloseWritesOneTraceWithTheAddresses) {
  connect(5);
  clock_.setSeconds(1);
  send(5, "GET / HTTP/1.1\r\n\r\n");
  clock_.setSeconds(2);
  receive(5, "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_TRUE(sink_.outputs().empty());  // buffered: written at close only
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp { seconds: 1 } write { data { as_bytes: "GET / HTTP/1.1\r\n\r\n" } } }
    events { timestamp { seconds: 2 } read { data { as_bytes: "HTTP/1.1 200 OK\r\n\r\n" } } }
  )")));
  EXPECT_EQ(sink_.outputs()[0].extension, ".pb");
}

TEST_F(TapEngineTest, TraceCarriesTheProcessExtension) {
  connect(5);
  engine_->onClose(5);
  ASSERT_EQ(sink_.outputs().size(), 1u);
  const TraceWrapper trace = parseTrace(sink_.outputs()[0].bytes);
  EXPECT_EQ(trace.socket_buffered_trace().tapshim_process().pid(), static_cast<uint32_t>(getpid()));
  EXPECT_FALSE(trace.socket_buffered_trace().tapshim_process().name().empty());
}

TEST_F(TapEngineTest, NonBlockingConnectThatNeverConnectsWritesNoTrace) {
  connect(5, kServer, /*completed=*/false);
  engine_->onClose(5);  // the probe still has no peer: connection refused
  EXPECT_EQ(sink_.openCalls(), 0);
}

TEST_F(TapEngineTest, NonBlockingConnectConnectedAtCloseWritesOneEmptyTrace) {
  connect(5, kServer, /*completed=*/false);
  probe_.setPeer(5, kServer);  // poll said writable; the program hung up silently
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer))));
}

TEST_F(TapEngineTest, DataOnANonBlockingConnectProvesItConnected) {
  connect(5, kServer, /*completed=*/false);
  send(5, "x");
  engine_->onClose(5);  // the peer already reset: getpeername fails now
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "x" } } }
  )")));
}

TEST_F(TapEngineTest, RepeatedConnectReportingCompletionEstablishes) {
  connect(5, kServer, /*completed=*/false);
  connect(5, kServer, /*completed=*/true);  // connect() again: EISCONN
  probe_.setPeer(5, Address{});
  engine_->onClose(5);
  EXPECT_EQ(traces().size(), 1u);
  EXPECT_EQ(probe_.isTcpCalls(5), 1);
}

TEST_F(TapEngineTest, AcceptedConnectionIsTracedWithTheServerAsLocal) {
  probe_.addTcp(9, kServer, kClient);
  engine_->onAccepted(9);
  receive(9, "request");
  send(9, "response");
  engine_->onClose(9);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kServer, kClient), R"(
    events { timestamp {} read { data { as_bytes: "request" } } }
    events { timestamp {} write { data { as_bytes: "response" } } }
  )")));
}

TEST_F(TapEngineTest, DupSharesOneConnectionAndOnlyTheLastCloseWrites) {
  connect(5);
  engine_->onDuplicated(5, 6);
  send(6, "a");
  receive(5, "b");
  engine_->onClose(5);
  EXPECT_EQ(sink_.openCalls(), 0);  // fd 6 still holds the socket
  send(6, "c");
  engine_->onClose(6);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "a" } } }
    events { timestamp {} read { data { as_bytes: "b" } } }
    events { timestamp {} write { data { as_bytes: "c" } } }
  )")));
}

TEST_F(TapEngineTest, Dup2OverATappedFdEndsThatFdsConnection) {
  connect(5, kServer);       // trace 0
  connect(6, kOtherServer);  // trace 1
  send(6, "to the other server");
  engine_->onDuplicated(5, 6);  // dup2(5, 6) closes what 6 was
  {
    const auto written = traces();
    ASSERT_EQ(written.size(), 1u);
    EXPECT_THAT(written[0], EqualsProto(traceText(1, connectionText(kClient, kOtherServer), R"(
      events { timestamp {} write { data { as_bytes: "to the other server" } } }
    )")));
  }
  send(6, "now to the first");
  engine_->onClose(5);
  EXPECT_EQ(sink_.outputs().size(), 1u);
  engine_->onClose(6);
  const auto written = traces();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_THAT(written[1], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "now to the first" } } }
  )")));
}

TEST_F(TapEngineTest, Dup2OfAnUntappedFdOverATappedFdEndsThatFdsConnection) {
  probe_.addNonTcp(3);
  receive(3, "file bytes");  // fd 3 is known not to be tapped
  connect(6);                // trace 0
  connect(7);                // trace 1
  send(6, "six");
  send(7, "seven");
  engine_->onDuplicated(3, 6);   // dup2(file, 6)
  engine_->onDuplicated(40, 7);  // dup2(an fd never seen, 7)
  const auto written = traces();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].socket_buffered_trace().events(0).write().data().as_bytes(), "six");
  EXPECT_EQ(written[1].socket_buffered_trace().events(0).write().data().as_bytes(), "seven");
  send(6, "into the file");
  engine_->onClose(6);
  engine_->onClose(7);
  EXPECT_EQ(sink_.outputs().size(), 2u);
}

TEST_F(TapEngineTest, DupOfANonTcpFdIsNotTappedEither) {
  probe_.addNonTcp(3);
  receive(3, "file bytes");  // probed once, marked not tapped
  engine_->onDuplicated(3, 8);
  send(8, "more");
  engine_->onClose(3);
  engine_->onClose(8);
  EXPECT_EQ(sink_.openCalls(), 0);
  EXPECT_EQ(probe_.isTcpCalls(8), 0);
}

TEST_F(TapEngineTest, CloseRangeEndsEveryConnectionInTheRange) {
  connect(5);  // trace 0
  connect(6);  // trace 1
  probe_.addNonTcp(7);
  receive(7, "not a socket");
  connect(8);   // trace 2
  connect(20);  // trace 3, outside the range
  send(6, "six");
  engine_->onCloseRange(5, 10);
  auto written = traces();
  ASSERT_EQ(written.size(), 3u);
  std::vector<uint64_t> ids;
  for (const auto& trace : written) ids.push_back(trace.socket_buffered_trace().trace_id());
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre(0u, 1u, 2u));
  send(20, "still tapped");
  engine_->onClose(20);
  written = traces();
  ASSERT_EQ(written.size(), 4u);
  EXPECT_THAT(written[3], EqualsProto(traceText(3, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "still tapped" } } }
  )")));
}

TEST_F(TapEngineTest, UnknownConnectedTcpFdIsAdoptedAtFirstData) {
  // Inherited across exec, or received over SCM_RIGHTS: no hooked call made it.
  probe_.addTcp(11, kClient, kServer);
  receive(11, "hello");
  send(11, "hi");
  engine_->onClose(11);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} read { data { as_bytes: "hello" } } }
    events { timestamp {} write { data { as_bytes: "hi" } } }
  )")));
}

// The kernel's own counts, held against what hooked calls moved when a
// trace ends: bytes moved without a hooked call (io_uring, a raw system
// call) make a gap at the end of the trace, in their direction.
TEST_F(TapEngineTest, KernelCountsEqualToTheHookedBytesAddNoGap) {
  connect(5);
  send(5, "abc");
  receive(5, "de");
  probe_.setTcpTotals(5, /*sent=*/3, /*received=*/2);
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "abc" } } }
    events { timestamp {} read { data { as_bytes: "de" } } }
  )")));
  EXPECT_EQ(probe_.activeOpenAsked(5), true);
}

TEST_F(TapEngineTest, BytesTheKernelMovedWithoutAHookedCallAreAGapAtTheEnd) {
  connect(5);
  send(5, "abc");
  receive(5, "de");
  probe_.setTcpTotals(5, /*sent=*/3 + 4, /*received=*/2 + 5);
  clock_.setSeconds(9);
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "abc" } } }
    events { timestamp {} read { data { as_bytes: "de" } } }
    events { timestamp { seconds: 9 } read { data { as_bytes: "" truncated: true } } }
    events { timestamp { seconds: 9 } write { data { as_bytes: "" truncated: true } } }
  )")));
}

TEST_F(TapEngineTest, OneByteOfSlackCoversAFinTheSocketStateCannotPlace) {
  connect(5);
  send(5, "abc");
  probe_.setTcpTotals(5, /*sent=*/4, /*received=*/1, /*slack=*/1);
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "abc" } } }
  )")));
}

TEST_F(TapEngineTest, ADirectionWithAGapAlreadyMarkedGetsNoSecond) {
  connect(5);
  send(5, "abc");
  engine_->onUnseen(5, Direction::kWrite);  // splice: a gap where it happened
  probe_.setTcpTotals(5, /*sent=*/3 + 100, /*received=*/0);
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "abc" } } }
    events { timestamp {} write { data { as_bytes: "" truncated: true } } }
  )")));
}

TEST_F(TapEngineTest, AnAcceptedSocketIsCountedAsAPassiveOpen) {
  probe_.addTcp(9, kServer, kClient);
  engine_->onAccepted(9);
  receive(9, "request");
  probe_.setTcpTotals(9, /*sent=*/0, /*received=*/7);
  engine_->onClose(9);
  EXPECT_EQ(probe_.activeOpenAsked(9), false);
  ASSERT_EQ(traces().size(), 1u);
}

TEST_F(TapEngineTest, AnAdoptedSocketIsNotHeldAgainstTheKernelsCounts) {
  // Bytes it moved before the shim saw it are in the kernel's counts.
  probe_.addTcp(11, kClient, kServer);
  receive(11, "hello");
  probe_.setTcpTotals(11, /*sent=*/500, /*received=*/500);
  engine_->onClose(11);
  EXPECT_EQ(probe_.activeOpenAsked(11), std::nullopt);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} read { data { as_bytes: "hello" } } }
  )")));
}

TEST_F(TapEngineTest, UnconnectedTcpFdIsNotAdopted) {
  probe_.addTcp(11, kClient, Address{});
  receive(11, "?");
  engine_->onClose(11);
  EXPECT_EQ(sink_.openCalls(), 0);
}

TEST_F(TapEngineTest, NonTcpFdIsNeverTappedAndProbedOnlyOnce) {
  probe_.addNonTcp(3);
  receive(3, "a");
  send(3, "b");
  receive(3, "c");
  engine_->onShutdown(3, SHUT_WR);
  engine_->onClose(3);
  EXPECT_EQ(sink_.openCalls(), 0);
  EXPECT_EQ(probe_.isTcpCalls(3), 1);
}

TEST_F(TapEngineTest, ConnectOnANonTcpSocketIsNotTapped) {
  probe_.addNonTcp(4);  // a UDP socket connect()ing to a DNS server
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(53);
  engine_->onConnect(4, reinterpret_cast<sockaddr*>(&peer), sizeof(peer), true);
  send(4, "query");
  receive(4, "answer");
  engine_->onClose(4);
  EXPECT_EQ(sink_.openCalls(), 0);
  EXPECT_EQ(probe_.isTcpCalls(4), 1);
}

TEST_F(TapEngineTest, UnrecordedCallLeavesAGapBeforeTheNextData) {
  connect(5);
  send(5, "a");
  // A write from a signal handler that interrupted the shim on this thread.
  engine_->onUnrecorded(5, Direction::kWrite);
  receive(5, "b");
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "a" } } }
    events { timestamp {} write { data { as_bytes: "" truncated: true } } }
    events { timestamp {} read { data { as_bytes: "b" } } }
  )")));
}

TEST_F(TapEngineTest, UnrecordedCallBeforeTheCloseIsAGapSaidToBeASignalHandlers) {
  connect(5);
  send(5, "a");
  engine_->onUnrecorded(5, Direction::kWrite);         // a signal handler's write
  probe_.setTcpTotals(5, /*sent=*/2, /*received=*/0);  // the kernel sent it
  core::resetReports();
  ::testing::internal::CaptureStderr();
  engine_->onClose(5);
  const std::string said = ::testing::internal::GetCapturedStderr();
  // One line, naming the cause: not io_uring, though the kernel's counts
  // see the byte too.
  EXPECT_EQ(said,
            "tapshim: socket I/O from a signal handler that interrupted tapshim on its thread is "
            "not recorded: its trace marks a gap\n");
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "a" } } }
    events { timestamp {} write { data { as_bytes: "" truncated: true } } }
  )")));
}

TEST_F(TapEngineTest, BufferedTotalIsSharedByEveryConnectionAndGivenBackAtClose) {
  config_.max_buffered_total_bytes = 10;
  engine_ = std::make_unique<core::TapEngine>(config_, clock_, sink_, encoder_, probe_, ids_);
  connect(5);
  send(5, "12345678");
  connect(6, kOtherServer);
  send(6, "abcdefgh");  // 2 bytes left of the process's 10
  engine_->onClose(5);  // its 8 bytes are given back
  connect(7);
  send(7, "ABCDEFGH");
  engine_->onClose(6);
  engine_->onClose(7);
  const auto written = traces();
  ASSERT_EQ(written.size(), 3u);
  EXPECT_THAT(written[1], EqualsProto(traceText(1, connectionText(kClient, kOtherServer), R"(
    events { timestamp {} write { data { as_bytes: "ab" truncated: true } } }
    write_truncated: true
  )")));
  EXPECT_THAT(written[2], EqualsProto(traceText(2, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "ABCDEFGH" } } }
  )")));
}

TEST_F(TapEngineTest, ForkedChildStartsWithTheWholeBufferedTotal) {
  config_.max_buffered_total_bytes = 10;
  engine_ = std::make_unique<core::TapEngine>(config_, clock_, sink_, encoder_, probe_, ids_);
  connect(5);
  send(5, "12345678");  // the parent's: never the child's to write or give back
  engine_->onForkChild();
  connect(6, kOtherServer);
  send(6, "abcdefgh");
  engine_->onClose(6);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  const auto& trace = written[0].socket_buffered_trace();
  ASSERT_EQ(trace.events_size(), 1);
  EXPECT_EQ(trace.events(0).write().data().as_bytes(), "abcdefgh");
  EXPECT_FALSE(trace.write_truncated());
}

TEST_F(TapEngineTest, UnseenBytesAreAGap) {
  connect(5);
  engine_->onUnseen(5, Direction::kRead);  // recv(MSG_TRUNC)
  receive(5, "b");
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} read { data { as_bytes: "" truncated: true } } }
    events { timestamp {} read { data { as_bytes: "b" } } }
  )")));
}

TEST_F(TapEngineTest, ShutdownForWritingSetsEndStreamOnTheLastWrite) {
  connect(5);
  send(5, "bye");
  engine_->onShutdown(5, SHUT_RD);  // not a half-close of our side
  receive(5, "late");
  send(5, "really bye");
  engine_->onShutdown(5, SHUT_WR);
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "bye" } } }
    events { timestamp {} read { data { as_bytes: "late" } } }
    events { timestamp {} write { data { as_bytes: "really bye" } end_stream: true } }
  )")));
}

TEST_F(TapEngineTest, BudgetsComeFromTheConfig) {
  config_.max_buffered_rx_bytes = 2;
  config_.max_buffered_tx_bytes = 0;
  engine_ = std::make_unique<core::TapEngine>(config_, clock_, sink_, encoder_, probe_, ids_);
  connect(5);
  receive(5, "abc");
  send(5, "d");
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} read { data { as_bytes: "ab" truncated: true } } }
    events { timestamp {} write { data { as_bytes: "" truncated: true } } }
    read_truncated: true
    write_truncated: true
  )")));
}

TEST_F(TapEngineTest, FlushAllWritesEveryOpenTraceAndRecordsNothingAfter) {
  connect(5);
  connect(6);
  engine_->onDuplicated(6, 7);
  connect(9, kServer, /*completed=*/false);  // never connected: no trace
  send(5, "five");
  receive(6, "six");
  engine_->flushAll();
  auto written = traces();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "five" } } }
  )")));
  EXPECT_THAT(written[1], EqualsProto(traceText(1, connectionText(kClient, kServer), R"(
    events { timestamp {} read { data { as_bytes: "six" } } }
  )")));
  // Exit handlers and other threads keep running: nothing more is recorded.
  send(5, "after exit");
  connect(10);
  probe_.addTcp(12, kClient, kServer);
  receive(12, "adopt me");
  for (int fd : {5, 6, 7, 9, 10, 12}) engine_->onClose(fd);
  EXPECT_EQ(sink_.outputs().size(), 2u);
}

TEST_F(TapEngineTest, ForkedChildForgetsTheParentsConnections) {
  connect(5);
  send(5, "parent");
  engine_->onForkChild();
  engine_->onClose(5);  // the child closes its copy: the parent's trace is not the child's
  engine_->flushAll();
  EXPECT_EQ(sink_.openCalls(), 0);
}

TEST_F(TapEngineTest, ForkedChildAdoptsAnInheritedSocketUnderANewId) {
  connect(5);
  send(5, "parent");
  engine_->onForkChild();
  send(5, "child");
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  const auto& trace = written[0].socket_buffered_trace();
  // The child drew a new random high half, so it cannot collide with the
  // parent's ids (which started at 0 here).
  EXPECT_NE(trace.trace_id() >> 32, 0u);
  ASSERT_EQ(trace.events_size(), 1);
  EXPECT_EQ(trace.events(0).write().data().as_bytes(), "child");
}

TEST_F(TapEngineTest, StartTlsUnderATlsMatchIsOneTraceWithItsPlaintextFirst) {
  useMatch("tls and port 443");
  int session = 0;
  connect(5);
  send(5, "STARTTLS\r\n");
  receive(5, "OK\r\n");
  EXPECT_EQ(sink_.openCalls(), 0);  // provisional: nothing written
  tlsWrite(&session, 5, "secret");
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_THAT(written[0], EqualsProto(traceText(0, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "STARTTLS\r\n" } } }
    events { timestamp {} read { data { as_bytes: "OK\r\n" } } }
    events { timestamp {} write { data { as_bytes: "secret" } } }
  )")));
}

TEST_F(TapEngineTest, PlaintextThatNeverTurnsTlsUnderATlsMatchLeavesNothing) {
  useMatch("tls");
  connect(5);
  send(5, "GET / HTTP/1.1\r\n\r\n");
  receive(5, "HTTP/1.1 200 OK\r\n\r\n");
  engine_->onClose(5);
  EXPECT_EQ(sink_.openCalls(), 0);
}

TEST_F(TapEngineTest, StartTlsStillNeedsTheRestOfTheMatch) {
  useMatch("tls and port 25");
  int session = 0;
  connect(5);  // to port 443
  send(5, "STARTTLS\r\n");
  tlsWrite(&session, 5, "secret");
  engine_->onClose(5);
  EXPECT_EQ(sink_.openCalls(), 0);
}

TEST_F(TapEngineTest, TlsRecordsNoHookDecryptedAreMarkedAndReported) {
  connect(5);
  send(5, std::string("\x16\x03\x01\x00\x05hello", 10));  // a ClientHello's record header
  engine_->onClose(5);
  ASSERT_EQ(sink_.outputs().size(), 1u);
  EXPECT_TRUE(parseTrace(sink_.outputs()[0].bytes)
                  .socket_buffered_trace()
                  .tapshim_process()
                  .undecrypted_tls());
  EXPECT_TRUE(engine_->takeUnhookedTls());
  EXPECT_FALSE(engine_->takeUnhookedTls());  // said once per connection that ended so
}

TEST_F(TapEngineTest, TlsAHookedLibraryClaimsIsNotMarked) {
  int session = 0;
  connect(5);
  tlsWrite(&session, 5, "plaintext");
  engine_->onClose(5);
  ASSERT_EQ(sink_.outputs().size(), 1u);
  EXPECT_FALSE(parseTrace(sink_.outputs()[0].bytes)
                   .socket_buffered_trace()
                   .tapshim_process()
                   .undecrypted_tls());
  EXPECT_FALSE(engine_->takeUnhookedTls());
}

TEST_F(TapEngineTest, ForkedChildKeepsTheOriginOfAnAcceptedConnection) {
  // A forking server's child serves what its parent accepted: inbound.
  probe_.addTcp(9, kServer, kClient);
  engine_->onAccepted(9);
  engine_->onForkChild();
  receive(9, "request");
  engine_->onClose(9);
  EXPECT_EQ(onlyTraceOrigin(), envoy::data::tap::v3::TapshimProcess::INBOUND);
}

TEST_F(TapEngineTest, ForkedChildIsNotHeldToTheKernelsCountsOfItsParentsBytes) {
  probe_.addTcp(9, kServer, kClient);
  engine_->onAccepted(9);
  receive(9, "the parent's request");
  engine_->onForkChild();
  receive(9, "more");
  // The kernel counts both processes' bytes; the child moved 4 of them.
  probe_.setTcpTotals(9, /*sent=*/0, /*received=*/24);
  engine_->onClose(9);
  const auto written = traces();
  ASSERT_EQ(written.size(), 1u);
  ASSERT_EQ(written[0].socket_buffered_trace().events_size(), 1);  // no gap event
}

TEST_F(TapEngineTest, ForkedChildTakesNoOriginFromAnotherSocketOnTheSameFd) {
  probe_.addTcp(9, kServer, kClient);
  engine_->onAccepted(9);
  engine_->onForkChild();
  // The child's fd 9 is another connection now (closed behind the hooks'
  // back and reused): the parent's record is not its own.
  probe_.addTcp(9, kClient, kServer);
  receive(9, "other");
  engine_->onClose(9);
  EXPECT_EQ(onlyTraceOrigin(), envoy::data::tap::v3::TapshimProcess::UNKNOWN);
}

TEST_F(TapEngineTest, ForkingServerParentClosingItsUnusedCopyWritesNoTrace) {
  probe_.addTcp(9, kServer, kClient);
  engine_->onAccepted(9);
  engine_->onForkParent();  // the child serves the connection
  engine_->onClose(9);
  EXPECT_EQ(sink_.openCalls(), 0);
}

TEST_F(TapEngineTest, ParentThatRecordedBeforeTheForkStillWritesItsTrace) {
  probe_.addTcp(9, kServer, kClient);
  engine_->onAccepted(9);
  receive(9, "request");
  engine_->onForkParent();
  engine_->onClose(9);
  ASSERT_EQ(traces().size(), 1u);
}

TEST_F(TapEngineTest, ConnectionMadeAfterAForkStillGetsAnEmptyTrace) {
  engine_->onForkParent();
  connect(5);
  engine_->onClose(5);
  EXPECT_EQ(traces().size(), 1u);
}

TEST_F(TapEngineTest, ExecWritesEveryOpenTraceAndLaterIoIsAdoptedAnew) {
  connect(5);
  send(5, "before exec");
  engine_->onExec();
  ASSERT_EQ(sink_.outputs().size(), 1u);
  // exec failed and the program carried on: the socket is a new trace.
  send(5, "after a failed exec");
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_THAT(written[1], EqualsProto(traceText(1, connectionText(kClient, kServer), R"(
    events { timestamp {} write { data { as_bytes: "after a failed exec" } } }
  )")));
}

TEST_F(TapEngineTest, MayBeTappedIsFalseOnlyForFdsKnownNotToBe) {
  probe_.addNonTcp(3);
  receive(3, "x");
  connect(5);
  EXPECT_FALSE(engine_->mayBeTapped(3));
  EXPECT_TRUE(engine_->mayBeTapped(5));
  EXPECT_TRUE(engine_->mayBeTapped(40));  // never seen: may be adopted
}

TEST_F(TapEngineTest, NewSocketOnAReusedFdNumberEndsTheStaleConnection) {
  connect(5);
  send(5, "old");
  // The program closed fd 5 in a way the hooks did not see, and socket()
  // handed the number out again.
  engine_->onSocketCreated(5);
  EXPECT_EQ(sink_.outputs().size(), 1u);
  connect(5, kOtherServer);
  send(5, "new");
  engine_->onClose(5);
  const auto written = traces();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_THAT(written[1], EqualsProto(traceText(1, connectionText(kClient, kOtherServer), R"(
    events { timestamp {} write { data { as_bytes: "new" } } }
  )")));
}

}  // namespace
}  // namespace tapshim::testing
