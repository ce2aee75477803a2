#include "tests/tap_core/support/trace_builders.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "tap_core/base/byte_buffer.h"
#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/encoder/trace_encoder.h"

namespace tapshim::testing {
namespace {

using core::Address;
using core::EventKind;

template <typename T>
T pick(std::mt19937_64& random, std::initializer_list<T> choices) {
  std::uniform_int_distribution<size_t> index(0, choices.size() - 1);
  return *(choices.begin() + index(random));
}

bool chance(std::mt19937_64& random, double probability) {
  return std::bernoulli_distribution(probability)(random);
}

uint64_t randomVarintValue(std::mt19937_64& random) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  switch (random() % 4) {
    case 0:
      return pick<uint64_t>(random, {0, 1, 127, 128, 16383, 16384, uint64_t{1} << 32,
                                     (uint64_t{1} << 63) - 1, uint64_t{1} << 63, kMax - 1, kMax});
    case 1:
      return random() % 300;
    case 2:
      return random() >> (random() % 64);  // every varint length
    default:
      return random();
  }
}

// ASCII only: proto3 strings must be valid UTF-8 for libprotobuf to parse
// them back (the shim writes what the kernel gave, which is ASCII here).
std::string randomText(std::mt19937_64& random, size_t max_length) {
  std::string text(random() % (max_length + 1), ' ');
  for (char& c : text) c = static_cast<char>(' ' + random() % 95);
  return text;
}

std::string randomBytes(std::mt19937_64& random) {
  size_t length;
  switch (random() % 5) {
    case 0:
      length = 0;  // encodes as "0a 00": as_bytes is a oneof member
      break;
    case 1:
      length = pick<size_t>(random, {1, 127, 128, 16384});
      break;
    default:
      length = random() % 200;
  }
  std::string bytes(length, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xff);
  return bytes;
}

Address randomAddress(std::mt19937_64& random) {
  const uint16_t port = random() % 2 == 0
                            ? pick<uint16_t>(random, {0, 1, 127, 128, 443, 16383, 16384, 65535})
                            : static_cast<uint16_t>(random());
  switch (random() % 6) {
    case 0:
      return Address{};  // unknown: left out of the Connection
    case 1:
    case 2: {
      const std::string ip = std::to_string(random() % 256) + "." + std::to_string(random() % 256) +
                             "." + std::to_string(random() % 256) + "." +
                             std::to_string(random() % 256);
      return Address::ip(ip, port);
    }
    case 3:
      return Address::ip(
          pick<const char*>(random,
                            {"::1", "::", "fe80::1", "2001:db8::ff00:42:8329",
                             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:10.0.0.1", ""}),
          port);
    case 4:
      return Address::pipe("/run/" + randomText(random, 60));
    default:
      return Address::pipe(pick<const char*>(random, {"@abstract", "", "@", "/tmp/s"}));
  }
}

int64_t randomTimestamp(std::mt19937_64& random) {
  constexpr int64_t kSecond = 1000000000;
  switch (random() % 4) {
    case 0:
      return pick<int64_t>(
          random, {0, 1, -1, kSecond, -kSecond, kSecond - 1, -kSecond - 1,
                   std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()});
    case 1:
      return static_cast<int64_t>(random());
    default:  // around now, with nanoseconds
      return 1700000000 * kSecond + static_cast<int64_t>(random() % (1000 * kSecond));
  }
}

void fillAddress(const Address& address, envoy::config::core::v3::Address* out) {
  if (address.kind == Address::Kind::kIp) {
    out->mutable_socket_address()->set_address(std::string(address.textView()));
    out->mutable_socket_address()->set_port_value(address.port);
  } else if (address.kind == Address::Kind::kPipe) {
    out->mutable_pipe()->set_path(std::string(address.textView()));
  }
}

}  // namespace

TraceSpec randomTrace(std::mt19937_64& random) {
  TraceSpec trace;
  trace.trace_id = randomVarintValue(random);
  if (!chance(random, 0.1)) {
    core::ConnectionInfo connection;
    connection.local = randomAddress(random);
    connection.remote = randomAddress(random);
    connection.origin = static_cast<core::ConnectionInfo::Origin>(random() % 3);
    connection.undecrypted_tls = chance(random, 0.3);
    connection.joined_late = chance(random, 0.3);
    trace.connection = connection;
  }
  const size_t count = random() % 9;
  for (size_t i = 0; i < count; ++i) {
    EventSpec event;
    event.timestamp_ns = randomTimestamp(random);
    const unsigned kind = random() % 10;
    // Buffered traces never hold Closed events, but the encoder knows
    // them (and seq_num) for streaming; cover them too.
    event.kind = kind < 5 ? EventKind::kRead : kind < 9 ? EventKind::kWrite : EventKind::kClosed;
    if (event.kind != EventKind::kClosed) {
      event.data = randomBytes(random);
      event.truncated = chance(random, 0.3);
      event.end_stream = event.kind == EventKind::kWrite && chance(random, 0.3);
    }
    if (chance(random, 0.2)) event.seq_num = randomVarintValue(random);
    trace.events.push_back(std::move(event));
  }
  trace.events_as_null = trace.events.empty() && chance(random, 0.5);
  trace.read_truncated = chance(random, 0.3);
  trace.write_truncated = chance(random, 0.3);
  if (chance(random, 0.5)) {
    core::ProcessInfo process;
    process.pid = static_cast<int>(pick<uint64_t>(
        random, {0, 1, 127, 128, 4194304, 0x7fffffff, 0xffffffff, random() & 0xffffffff}));
    const std::string name = randomText(random, 15);
    std::memcpy(process.name, name.data(), name.size());
    trace.process = process;
  }
  return trace;
}

void fillEventLog(const std::vector<EventSpec>& events, core::EventLog* log) {
  for (const EventSpec& event : events) {
    iovec slice{const_cast<char*>(event.data.data()), event.data.size()};
    const bool appended =
        log->append(event.timestamp_ns, event.kind, core::IoSlices(&slice, 1, event.data.size()),
                    event.data.size(), event.truncated, event.end_stream, event.seq_num);
    EXPECT_TRUE(appended);
  }
}

std::string encodeWithShim(const TraceSpec& trace) {
  return encodeWithShim(trace, core::ProtoBinaryEncoder());
}

core::BufferedTraceData bufferedTraceData(const TraceSpec& trace, const core::EventLog& events) {
  core::BufferedTraceData data;
  data.trace_id = trace.trace_id;
  data.connection = trace.connection ? &*trace.connection : nullptr;
  data.events = trace.events_as_null ? nullptr : &events;
  data.read_truncated = trace.read_truncated;
  data.write_truncated = trace.write_truncated;
  data.process = trace.process ? &*trace.process : nullptr;
  return data;
}

std::string encodeWithShim(const TraceSpec& trace, const core::TraceEncoder& encoder) {
  core::EventLog events;
  fillEventLog(trace.events, &events);
  core::ByteBuffer out;
  EXPECT_TRUE(encoder.encodeBuffered(bufferedTraceData(trace, events), &out));
  return std::string(out.view());
}

envoy::data::tap::v3::TraceWrapper toProto(const TraceSpec& trace) {
  using google::protobuf::util::TimeUtil;
  envoy::data::tap::v3::TraceWrapper wrapper;
  auto* buffered = wrapper.mutable_socket_buffered_trace();
  buffered->set_trace_id(trace.trace_id);
  if (trace.connection) {
    auto* connection = buffered->mutable_connection();
    if (trace.connection->local.known()) {
      fillAddress(trace.connection->local, connection->mutable_local_address());
    }
    if (trace.connection->remote.known()) {
      fillAddress(trace.connection->remote, connection->mutable_remote_address());
    }
  }
  for (const EventSpec& spec : trace.events) {
    auto* event = buffered->add_events();
    // libprotobuf's own conversion: seconds floored, nanos in [0, 1e9).
    *event->mutable_timestamp() = TimeUtil::NanosecondsToTimestamp(spec.timestamp_ns);
    switch (spec.kind) {
      case EventKind::kRead:
        event->mutable_read()->mutable_data()->set_as_bytes(spec.data);
        event->mutable_read()->mutable_data()->set_truncated(spec.truncated);
        break;
      case EventKind::kWrite:
        event->mutable_write()->mutable_data()->set_as_bytes(spec.data);
        event->mutable_write()->mutable_data()->set_truncated(spec.truncated);
        event->mutable_write()->set_end_stream(spec.end_stream);
        break;
      case EventKind::kClosed:
        event->mutable_closed();
        break;
    }
    event->set_seq_num(spec.seq_num);
  }
  buffered->set_read_truncated(trace.read_truncated);
  buffered->set_write_truncated(trace.write_truncated);
  if (trace.process) {
    auto* process = buffered->mutable_tapshim_process();
    process->set_pid(static_cast<uint32_t>(trace.process->pid));
    process->set_name(trace.process->name);
    if (trace.connection) {
      process->set_connection_origin(
          static_cast<envoy::data::tap::v3::TapshimProcess::ConnectionOrigin>(
              trace.connection->origin));
      process->set_undecrypted_tls(trace.connection->undecrypted_tls);
      process->set_joined_late(trace.connection->joined_late);
    }
  }
  return wrapper;
}

}  // namespace tapshim::testing
