// Writes the traces that test_tap2pcap_tshark.py converts and checks with
// tshark, and a manifest (JSON) of what each capture must show.
//
//   make_test_traces OUTDIR ENVOY_GOLDEN.pb_text
//
// Each case: the input files, tap2pcap's flags and output name, and per
// TCP stream (in the order the capture must number them) the local and
// remote endpoints (null when tap2pcap must invent them), the bytes read
// (rx) and written (tx) in hex, and the port to decode as HTTP/2, if any.
#include <google/protobuf/text_format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/tools/trace_builder.h"

namespace {

using namespace tapshim::tap2pcap;
using namespace tapshim::tap2pcap::testing;
using envoy::data::tap::v3::SocketEvent;

constexpr int64_t kBase = 1'700'000'000'000'000'000;  // ns
constexpr int64_t kMs = 1'000'000;

std::string hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string pattern(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    seed = seed * 1103515245 + 12345;
    out[i] = static_cast<char>(seed >> 16);
  }
  return out;
}

struct ExpectedStream {
  std::string local;  // "" = invented by tap2pcap
  std::string remote;
  std::string rx;
  std::string tx;
  int http2_port = 0;
};

struct Case {
  std::string name;
  std::vector<std::string> inputs;
  std::vector<std::string> flags;
  std::string output;
  std::vector<ExpectedStream> streams;
};

std::string outdir;
std::vector<Case> cases;

void writeFile(const std::string& name, const std::string& contents) {
  std::ofstream out(outdir + "/" + name, std::ios::binary);
  out << contents;
}

const char* extensionOf(TraceFormat format) {
  switch (format) {
    case TraceFormat::kProtoBinary:
      return ".pb";
    case TraceFormat::kProtoLengthDelimited:
      return ".pb_length_delimited";
    case TraceFormat::kProtoText:
      return ".pb_text";
    case TraceFormat::kJson:
      return ".json";
  }
  return "";
}

const TraceFormat kAllFormats[] = {TraceFormat::kProtoBinary, TraceFormat::kProtoLengthDelimited,
                                   TraceFormat::kProtoText, TraceFormat::kJson};

// Sums the recorded bytes of events by direction.
ExpectedStream expectFrom(const std::vector<SocketEvent>& events, std::string local,
                          std::string remote, int http2_port = 0) {
  ExpectedStream stream{std::move(local), std::move(remote), "", "", http2_port};
  for (const SocketEvent& event : events) {
    if (event.has_read()) stream.rx += event.read().data().as_bytes();
    if (event.has_write()) stream.tx += event.write().data().as_bytes();
  }
  return stream;
}

TraceWrapper buffered(uint64_t id, const envoy::config::core::v3::Address* local,
                      const envoy::config::core::v3::Address* remote,
                      const std::vector<SocketEvent>& events) {
  TraceWrapper wrapper;
  auto* trace = wrapper.mutable_socket_buffered_trace();
  trace->set_trace_id(id);
  if (local) *trace->mutable_connection()->mutable_local_address() = *local;
  if (remote) *trace->mutable_connection()->mutable_remote_address() = *remote;
  for (const SocketEvent& event : events) *trace->add_events() = event;
  return wrapper;
}

// Streamed per event: the connection first (remote only, as Envoy sends it
// for an upstream connection), the local address on the first event.
std::vector<TraceWrapper> streamed(uint64_t id, const envoy::config::core::v3::Address* local,
                                   const envoy::config::core::v3::Address* remote,
                                   const std::vector<SocketEvent>& events, bool batched) {
  std::vector<TraceWrapper> out;
  TraceWrapper first;
  first.mutable_socket_streamed_trace_segment()->set_trace_id(id);
  if (remote) {
    *first.mutable_socket_streamed_trace_segment()->mutable_connection()->mutable_remote_address() =
        *remote;
  } else {
    first.mutable_socket_streamed_trace_segment()->mutable_connection();
  }
  out.push_back(first);
  for (size_t i = 0; i < events.size(); ++i) {
    TraceWrapper segment;
    segment.mutable_socket_streamed_trace_segment()->set_trace_id(id);
    SocketEvent event = events[i];
    if (i == 0 && local) *event.mutable_connection()->mutable_local_address() = *local;
    if (batched && i + 1 < events.size() && i % 2 == 0) {
      auto* batch = segment.mutable_socket_streamed_trace_segment()->mutable_events();
      *batch->add_events() = event;
      *batch->add_events() = events[++i];
    } else {
      *segment.mutable_socket_streamed_trace_segment()->mutable_event() = event;
    }
    out.push_back(segment);
  }
  return out;
}

std::vector<SocketEvent> http1Events(int64_t start) {
  const std::string request =
      "GET /index.html HTTP/1.1\r\nHost: example\r\nUser-Agent: test\r\n\r\n";
  const std::string body = pattern(3000, 7);
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + body;
  return {writeEvent(start, request), readEvent(start + 2 * kMs, response.substr(0, 1000)),
          readEvent(start + 3 * kMs, response.substr(1000)), closedEvent(start + 4 * kMs)};
}

std::vector<SocketEvent> goldenEvents(const std::string& golden_path, int64_t start) {
  std::ifstream in(golden_path);
  std::stringstream text;
  text << in.rdbuf();
  TraceWrapper golden;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &golden)) {
    std::cerr << "make_test_traces: cannot parse " << golden_path << "\n";
    exit(1);
  }
  std::vector<SocketEvent> events;
  int i = 0;
  for (const SocketEvent& event : golden.socket_buffered_trace().events()) {
    SocketEvent copy = event;
    const int64_t time = start + i++ * kMs;
    copy.mutable_timestamp()->set_seconds(time / 1'000'000'000);
    copy.mutable_timestamp()->set_nanos(static_cast<int32_t>(time % 1'000'000'000));
    events.push_back(copy);
  }
  events.push_back(closedEvent(start + i * kMs));
  return events;
}

void printManifest() {
  std::ofstream out(outdir + "/manifest.json");
  out << "[\n";
  for (size_t c = 0; c < cases.size(); ++c) {
    const Case& one = cases[c];
    out << " {\"name\": \"" << one.name << "\", \"output\": \"" << one.output
        << "\", \"inputs\": [";
    for (size_t i = 0; i < one.inputs.size(); ++i) {
      out << (i ? ", " : "") << "\"" << one.inputs[i] << "\"";
    }
    out << "], \"flags\": [";
    for (size_t i = 0; i < one.flags.size(); ++i) {
      out << (i ? ", " : "") << "\"" << one.flags[i] << "\"";
    }
    out << "], \"streams\": [";
    for (size_t s = 0; s < one.streams.size(); ++s) {
      const ExpectedStream& stream = one.streams[s];
      auto endpoint = [](const std::string& e) { return e.empty() ? "null" : "\"" + e + "\""; };
      out << (s ? ",\n   " : "\n   ") << "{\"local\": " << endpoint(stream.local)
          << ", \"remote\": " << endpoint(stream.remote)
          << ", \"http2_port\": " << stream.http2_port << ", \"rx\": \"" << hex(stream.rx)
          << "\", \"tx\": \"" << hex(stream.tx) << "\"}";
    }
    out << "]}" << (c + 1 < cases.size() ? "," : "") << "\n";
  }
  out << "]\n";
}

void addCase(const std::string& name, std::vector<std::string> inputs,
             std::vector<ExpectedStream> streams, std::vector<std::string> flags = {},
             const std::string& output_ext = ".pcapng") {
  cases.push_back(
      Case{name, std::move(inputs), std::move(flags), name + output_ext, std::move(streams)});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_test_traces OUTDIR ENVOY_GOLDEN.pb_text\n";
    return 2;
  }
  outdir = argv[1];
  const auto client4 = ipAddress("127.0.0.1", 45000);
  const auto server4 = ipAddress("127.0.0.1", 8080);

  // HTTP/1.1, buffered, every format, pcapng and pcap.
  const auto h1 = http1Events(kBase);
  TraceWrapper h1_trace = buffered(1, &client4, &server4, h1);
  h1_trace.mutable_socket_buffered_trace()->mutable_tapshim_process()->set_pid(4242);
  h1_trace.mutable_socket_buffered_trace()->mutable_tapshim_process()->set_name("curl");
  for (TraceFormat format : kAllFormats) {
    const std::string file = std::string("http1") + extensionOf(format);
    writeFile(file, encodeTraces({h1_trace}, format));
    const std::string name = std::string("http1_") + std::string(extensionOf(format)).substr(1);
    addCase(name, {file}, {expectFrom(h1, "127.0.0.1:45000", "127.0.0.1:8080")});
  }
  addCase("http1_classic_pcap", {"http1.pb"}, {expectFrom(h1, "127.0.0.1:45000", "127.0.0.1:8080")},
          {}, ".pcap");

  // Envoy's HTTP/2 sample over IPv6, streamed (per event and batched).
  const auto h2 = goldenEvents(argv[2], kBase + 1000 * kMs);
  const auto server6 = ipAddress("::1", 10000);
  const auto client6 = ipAddress("::1", 53288);
  for (TraceFormat format : kAllFormats) {
    for (bool batched : {false, true}) {
      const std::string stem = std::string(batched ? "h2_v6_batched" : "h2_v6_streamed");
      const std::string file = stem + extensionOf(format);
      writeFile(file, encodeTraces(streamed(2, &server6, &client6, h2, batched), format));
      addCase(stem + "_" + std::string(extensionOf(format)).substr(1), {file},
              {expectFrom(h2, "[::1]:10000", "[::1]:53288", 10000)});
    }
  }
  // The same sample in IPv4, buffered, in both capture formats.
  const auto server_h2 = ipAddress("127.0.0.1", 10000);
  const auto client_h2 = ipAddress("127.0.0.1", 53288);
  writeFile("h2_v4.pb",
            encodeTraces({buffered(3, &server_h2, &client_h2, h2)}, TraceFormat::kProtoBinary));
  addCase("h2_v4_pcap", {"h2_v4.pb"}, {expectFrom(h2, "127.0.0.1:10000", "127.0.0.1:53288", 10000)},
          {}, ".pcap");

  // Truncation as Envoy's buffered limits make it: a cut write, then a
  // write recorded empty, and a read gap (empty, truncated).
  std::vector<SocketEvent> cut = {
      writeEvent(kBase, pattern(1024, 1), /*truncated=*/true),
      readEvent(kBase + kMs, pattern(500, 2)),
      writeEvent(kBase + 2 * kMs, "", /*truncated=*/true),
      readEvent(kBase + 3 * kMs, "", /*truncated=*/true),
      readEvent(kBase + 4 * kMs, pattern(700, 3)),
  };
  TraceWrapper cut_trace = buffered(4, &client4, &server4, cut);
  cut_trace.mutable_socket_buffered_trace()->set_write_truncated(true);
  writeFile("truncated.pb", encodeTraces({cut_trace}, TraceFormat::kProtoBinary));
  addCase("truncated", {"truncated.pb"}, {expectFrom(cut, "127.0.0.1:45000", "127.0.0.1:8080")});
  addCase("truncated_pcap", {"truncated.pb"},
          {expectFrom(cut, "127.0.0.1:45000", "127.0.0.1:8080")}, {}, ".pcap");

  // Large events, split into segments.
  std::vector<SocketEvent> big = {writeEvent(kBase, pattern(300000, 4)),
                                  readEvent(kBase + kMs, pattern(140000, 5)),
                                  writeEvent(kBase + 2 * kMs, pattern(65495, 6)),
                                  readEvent(kBase + 3 * kMs, pattern(65496, 7))};
  writeFile("big.pb_length_delimited", encodeTraces({buffered(5, &client4, &server4, big)},
                                                    TraceFormat::kProtoLengthDelimited));
  addCase("big", {"big.pb_length_delimited"},
          {expectFrom(big, "127.0.0.1:45000", "127.0.0.1:8080")});
  writeFile("big6.pb",
            encodeTraces({buffered(5, &client6, &server6, big)}, TraceFormat::kProtoBinary));
  addCase("big6", {"big6.pb"}, {expectFrom(big, "[::1]:53288", "[::1]:10000")});

  // Unix sockets, and a trace that knows only its remote side.
  const auto pipe_local = pipeAddress("/run/app.sock");
  const auto pipe_remote = pipeAddress("@abstract");
  const auto small = http1Events(kBase + 10 * kMs);
  writeFile("unix.pb", encodeTraces({buffered(6, &pipe_local, &pipe_remote, small)},
                                    TraceFormat::kProtoBinary));
  writeFile("remote_only.pb_length_delimited",
            encodeTraces(streamed(7, nullptr, &server4, small, false),
                         TraceFormat::kProtoLengthDelimited));
  addCase("unix", {"unix.pb"}, {expectFrom(small, "", "")});
  addCase("remote_only", {"remote_only.pb_length_delimited"},
          {expectFrom(small, "", "127.0.0.1:8080")});

  // The old Connection numbering (2/3), detected and forced.
  TraceWrapper old_trace = buffered(8, &client4, &server4, small);
  useOldNumbering(old_trace.mutable_socket_buffered_trace()->mutable_connection());
  writeFile("old_numbering.pb", encodeTraces({old_trace}, TraceFormat::kProtoBinary));
  addCase("old_numbering", {"old_numbering.pb"},
          {expectFrom(small, "127.0.0.1:45000", "127.0.0.1:8080")});
  TraceWrapper old_local_only = buffered(9, &client4, nullptr, small);
  useOldNumbering(old_local_only.mutable_socket_buffered_trace()->mutable_connection());
  writeFile("old_local_only.pb", encodeTraces({old_local_only}, TraceFormat::kProtoBinary));
  addCase("old_numbering_forced", {"old_local_only.pb"}, {expectFrom(small, "127.0.0.1:45000", "")},
          {"--old-connection-numbering"});

  // Several inputs merged: streams are numbered in order of their start,
  // not of the command line; two traces of one loopback connection (both
  // ends tapped) stay two streams; a trace without events is a stream too.
  const auto a = http1Events(kBase + 30 * kMs);
  const auto b = http1Events(kBase + 10 * kMs);
  const auto c = http1Events(kBase + 20 * kMs);
  const auto client_b = ipAddress("127.0.0.1", 45001);
  const auto client_c = ipAddress("127.0.0.1", 45002);
  writeFile("merge_a.pb",
            encodeTraces({buffered(10, &client4, &server4, a)}, TraceFormat::kProtoBinary));
  writeFile("merge_b.pb_text",
            encodeTraces({buffered(11, &client_b, &server4, b)}, TraceFormat::kProtoText));
  writeFile("merge_c.json",
            encodeTraces(streamed(12, &client_c, &server4, c, false), TraceFormat::kJson));
  addCase("merged", {"merge_a.pb", "merge_b.pb_text", "merge_c.json"},
          {expectFrom(b, "127.0.0.1:45001", "127.0.0.1:8080"),
           expectFrom(c, "127.0.0.1:45002", "127.0.0.1:8080"),
           expectFrom(a, "127.0.0.1:45000", "127.0.0.1:8080")});
  // The server's view of connection a: reads and writes swapped.
  std::vector<SocketEvent> server_view;
  for (const SocketEvent& event : a) {
    SocketEvent mirrored = event;
    if (event.has_read()) {
      *mirrored.mutable_write()->mutable_data() = event.read().data();
    } else if (event.has_write()) {
      *mirrored.mutable_read()->mutable_data() = event.write().data();
    }
    server_view.push_back(mirrored);
  }
  writeFile("merge_server.pb", encodeTraces({buffered(13, &server4, &client4, server_view)},
                                            TraceFormat::kProtoBinary));
  writeFile("empty.pb",
            encodeTraces({buffered(14, &client_b, &server4, {})}, TraceFormat::kProtoBinary));
  addCase("both_ends", {"merge_a.pb", "merge_server.pb"},
          {expectFrom(a, "127.0.0.1:45000", "127.0.0.1:8080"),
           expectFrom(server_view, "127.0.0.1:8080", "")});
  addCase("no_events", {"empty.pb"}, {expectFrom({}, "127.0.0.1:45001", "127.0.0.1:8080")});

  // Joined late (tapshim attach): no handshake, the first packet is data;
  // buffered, and streamed with the process on the connection's segment.
  // 200 kB each way: more than a window without scaling, which Wireshark
  // must not judge full (no SYN tells it the scale).
  std::vector<SocketEvent> late = {writeEvent(kBase + 9000 * kMs, pattern(200000, 21)),
                                   readEvent(kBase + 9001 * kMs, pattern(200000, 22)),
                                   closedEvent(kBase + 9002 * kMs)};
  TraceWrapper late_buffered = buffered(15, &client4, &server4, late);
  auto* late_process = late_buffered.mutable_socket_buffered_trace()->mutable_tapshim_process();
  late_process->set_pid(4343);
  late_process->set_name("late");
  late_process->set_connection_origin(envoy::data::tap::v3::TapshimProcess::OUTBOUND);
  late_process->set_joined_late(true);
  writeFile("joined_late.pb", encodeTraces({late_buffered}, TraceFormat::kProtoBinary));
  addCase("joined_late", {"joined_late.pb"},
          {expectFrom(late, "127.0.0.1:45000", "127.0.0.1:8080")});
  std::vector<TraceWrapper> late_streamed = streamed(16, &client4, &server4, late, false);
  *late_streamed[0].mutable_socket_streamed_trace_segment()->mutable_tapshim_process() =
      *late_process;
  writeFile("joined_late_streamed.pb_length_delimited",
            encodeTraces(late_streamed, TraceFormat::kProtoLengthDelimited));
  addCase("joined_late_streamed", {"joined_late_streamed.pb_length_delimited"},
          {expectFrom(late, "127.0.0.1:45000", "127.0.0.1:8080")});

  printManifest();
  return 0;
}
