#include "tap_core/encoder/proto_text_encoder.h"

#include "tap_core/encoder/text_output.h"

namespace tapshim::core {
namespace {

// Writes message fields as TextFormat does: "name: value" and "name {",
// two spaces per nesting level. Default scalars are left out (proto3).
class TextPrinter {
 public:
  explicit TextPrinter(ByteBuffer* out) : out_(out) {}

  void open(std::string_view name) {
    out_.indent(depth_, 2) << name << " {\n";
    ++depth_;
  }
  void close() {
    --depth_;
    out_.indent(depth_, 2) << "}\n";
  }
  template <typename Integer>
  void number(std::string_view name, Integer value, bool always = false) {
    if (value == 0 && !always) return;
    out_.indent(depth_, 2) << name << ": ";
    out_.number(value);
    out_ << '\n';
  }
  void flag(std::string_view name, bool value) {
    if (value) out_.indent(depth_, 2) << name << ": true\n";
  }
  void text(std::string_view name, std::string_view value, bool always = false) {
    if (value.empty() && !always) return;
    out_.indent(depth_, 2) << name << ": \"";
    escape(value);
    out_ << "\"\n";
  }
  bool ok() const { return out_.ok(); }

 private:
  // protobuf's CEscape: \n \r \t \" \' \\, and three-digit octal for every
  // other byte outside printable ASCII (UTF-8 included).
  void escape(std::string_view bytes) {
    for (char c : bytes) {
      const auto byte = static_cast<uint8_t>(c);
      switch (c) {
        case '\n':
          out_ << "\\n";
          break;
        case '\r':
          out_ << "\\r";
          break;
        case '\t':
          out_ << "\\t";
          break;
        case '"':
          out_ << "\\\"";
          break;
        case '\'':
          out_ << "\\'";
          break;
        case '\\':
          out_ << "\\\\";
          break;
        default:
          if (byte < 0x20 || byte >= 0x7F) {
            const char octal[4] = {'\\', static_cast<char>('0' + (byte >> 6)),
                                   static_cast<char>('0' + ((byte >> 3) & 7)),
                                   static_cast<char>('0' + (byte & 7))};
            out_ << std::string_view(octal, 4);
          } else {
            out_ << c;
          }
      }
    }
  }

  TextOutput out_;
  int depth_ = 0;
};

void printAddress(TextPrinter& p, std::string_view name, const Address& address) {
  if (!address.known()) return;
  p.open(name);
  if (address.kind == Address::Kind::kIp) {
    p.open("socket_address");
    p.text("address", address.textView());
    p.number("port_value", address.port, /*always=*/true);  // a oneof member
    p.close();
  } else {
    p.open("pipe");
    p.text("path", address.textView());
    p.close();
  }
  p.close();
}

void printConnection(TextPrinter& p, std::string_view name, const ConnectionInfo& connection) {
  p.open(name);
  printAddress(p, "local_address", connection.local);
  printAddress(p, "remote_address", connection.remote);
  p.close();
}

void printEvent(TextPrinter& p, const EventView& event, const ConnectionInfo* event_connection) {
  p.open("timestamp");
  int64_t seconds = event.timestamp_ns / 1000000000;
  int64_t nanos = event.timestamp_ns % 1000000000;
  if (nanos < 0) nanos += 1000000000, --seconds;
  p.number("seconds", seconds);
  p.number("nanos", static_cast<int32_t>(nanos));
  p.close();
  if (event.kind == EventKind::kClosed) {
    p.open("closed");
    p.close();
  } else {
    p.open(event.kind == EventKind::kRead ? "read" : "write");
    p.open("data");
    p.text("as_bytes", event.data, /*always=*/true);  // a oneof member
    p.flag("truncated", event.truncated);
    p.close();
    if (event.kind == EventKind::kWrite) p.flag("end_stream", event.end_stream);
    p.close();
  }
  if (event_connection != nullptr) printConnection(p, "connection", *event_connection);
  p.number("seq_num", event.seq_num);
}

}  // namespace

bool ProtoTextEncoder::encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const {
  TextPrinter p(out);
  p.open("socket_buffered_trace");
  p.number("trace_id", trace.trace_id);
  if (trace.connection != nullptr) printConnection(p, "connection", *trace.connection);
  if (trace.events != nullptr) {
    trace.events->forEach([&](const EventView& event) {
      p.open("events");
      printEvent(p, event, nullptr);
      p.close();
    });
  }
  p.flag("read_truncated", trace.read_truncated);
  p.flag("write_truncated", trace.write_truncated);
  p.close();
  return p.ok();
}

bool ProtoTextEncoder::encodeSegment(const SegmentData& segment, ByteBuffer* out) const {
  TextPrinter p(out);
  p.open("socket_streamed_trace_segment");
  p.number("trace_id", segment.trace_id);
  switch (segment.piece) {
    case SegmentData::Piece::kConnection:
      printConnection(p, "connection", *segment.connection);
      break;
    case SegmentData::Piece::kEvent:
      p.open("event");
      printEvent(p, *segment.event, segment.event_connection);
      p.close();
      break;
    case SegmentData::Piece::kEvents:
      p.open("events");
      segment.events->forEach([&](const EventView& event) {
        p.open("events");
        printEvent(p, event, segment.event_connection);
        p.close();
      });
      p.close();
      break;
  }
  p.close();
  return p.ok();
}

}  // namespace tapshim::core
