#include "tap_core/encoder/json_encoder.h"

#include "tap_core/encoder/text_output.h"
#include "tap_core/encoder/utf8.h"

namespace tapshim::core {
namespace {

// Objects and arrays laid out as protobuf's printer does with
// add_whitespace: one space of indentation per level, "{}" and "[]" when
// empty.
class JsonPrinter {
 public:
  explicit JsonPrinter(ByteBuffer* out) : out_(out) {}

  void key(std::string_view name) {
    separate();
    out_ << '"' << name << "\": ";
  }
  void beginObject() { begin('{'); }
  void endObject() { end('}'); }
  void beginArray() { begin('['); }
  void endArray() { end(']'); }
  // An element of an array (no key).
  void element() { separate(); }

  void string(std::string_view name, std::string_view value) {
    key(name);
    quoted(value);
  }
  template <typename Integer>
  void number(std::string_view name, Integer value) {
    key(name);
    out_.number(value);
  }
  // uint64 values are JSON strings.
  void bigNumber(std::string_view name, uint64_t value) {
    key(name);
    out_ << '"';
    out_.number(value);
    out_ << '"';
  }
  void flag(std::string_view name, bool value) {
    key(name);
    out_ << (value ? "true" : "false");
  }
  void base64(std::string_view name, std::string_view bytes);
  void timestamp(std::string_view name, int64_t nanos_since_epoch);
  void finish() { out_ << '\n'; }
  bool ok() const { return out_.ok(); }

 private:
  static constexpr int kMaxDepth = 16;

  void begin(char bracket) {
    out_ << bracket;
    ++depth_;
    first_[depth_] = true;
  }
  void end(char bracket) {
    if (!first_[depth_]) {
      out_ << '\n';
      out_.indent(depth_ - 1, 1);
    }
    --depth_;
    out_ << bracket;
  }
  void separate() {
    out_ << (first_[depth_] ? "\n" : ",\n");
    first_[depth_] = false;
    out_.indent(depth_, 1);
  }
  void quoted(std::string_view value);
  void escapeCodePoint(uint32_t code_point);

  TextOutput out_;
  int depth_ = 0;
  bool first_[kMaxDepth + 1] = {};
};

// The characters libprotobuf 3.21's JSON printer writes as \u escapes
// beyond the control characters: those JavaScript or HTML treat specially.
bool needsUnicodeEscape(uint32_t c) {
  return c < 0x20 || c == '<' || c == '>' || (c >= 0x7F && c <= 0x9F) || c == 0xAD ||
         (c >= 0x600 && c <= 0x603) || c == 0x6DD || c == 0x70F || (c >= 0x17B4 && c <= 0x17B5) ||
         (c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
         (c >= 0x2060 && c <= 0x2064) || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF ||
         (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0x1D173 && c <= 0x1D17A) || c == 0xE0001 ||
         (c >= 0xE0020 && c <= 0xE007F);
}

void JsonPrinter::escapeCodePoint(uint32_t c) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto unit = [&](uint32_t u) {
    const char escaped[6] = {
        '\\', 'u', kHex[(u >> 12) & 15], kHex[(u >> 8) & 15], kHex[(u >> 4) & 15], kHex[u & 15]};
    out_ << std::string_view(escaped, 6);
  };
  if (c >= 0x10000) {  // a surrogate pair
    c -= 0x10000;
    unit(0xD800 + (c >> 10));
    unit(0xDC00 + (c & 0x3FF));
  } else {
    unit(c);
  }
}

void JsonPrinter::quoted(std::string_view value) {
  out_ << '"';
  size_t i = 0;
  while (i < value.size()) {
    const size_t start = i;
    const uint32_t c = utf8::next(value, &i);
    if (c == utf8::kInvalid) continue;  // dropped, as libprotobuf's printer does
    switch (c) {
      case '"':
        out_ << "\\\"";
        continue;
      case '\\':
        out_ << "\\\\";
        continue;
      case '\b':
        out_ << "\\b";
        continue;
      case '\f':
        out_ << "\\f";
        continue;
      case '\n':
        out_ << "\\n";
        continue;
      case '\r':
        out_ << "\\r";
        continue;
      case '\t':
        out_ << "\\t";
        continue;
      default:
        break;
    }
    if (needsUnicodeEscape(c)) {
      escapeCodePoint(c);
    } else {
      out_ << value.substr(start, i - start);
    }
  }
  out_ << '"';
}

void JsonPrinter::base64(std::string_view name, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  key(name);
  out_ << '"';
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t i = 0;
  char chunk[4];
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    chunk[0] = kAlphabet[v >> 18], chunk[1] = kAlphabet[(v >> 12) & 63];
    chunk[2] = kAlphabet[(v >> 6) & 63], chunk[3] = kAlphabet[v & 63];
    out_ << std::string_view(chunk, 4);
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const uint32_t v = (uint32_t{data[i]} << 16) | (two ? uint32_t{data[i + 1]} << 8 : 0);
    chunk[0] = kAlphabet[v >> 18], chunk[1] = kAlphabet[(v >> 12) & 63];
    chunk[2] = two ? kAlphabet[(v >> 6) & 63] : '=', chunk[3] = '=';
    out_ << std::string_view(chunk, 4);
  }
  out_ << '"';
}

// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as protobuf prints
// google.protobuf.Timestamp.
void JsonPrinter::timestamp(std::string_view name, int64_t nanos_since_epoch) {
  int64_t seconds = nanos_since_epoch / 1000000000;
  int64_t nanos = nanos_since_epoch % 1000000000;
  if (nanos < 0) nanos += 1000000000, --seconds;
  // Civil date from days since the epoch (Howard Hinnant's algorithm),
  // without gmtime's locale and time-zone machinery.
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) second_of_day += 86400, --days;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);

  char text[40];
  auto two = [](char* at, int64_t v) {
    at[0] = static_cast<char>('0' + v / 10), at[1] = static_cast<char>('0' + v % 10);
  };
  text[0] = static_cast<char>('0' + (year / 1000) % 10),
  text[1] = static_cast<char>('0' + (year / 100) % 10);
  two(text + 2, year % 100);
  text[4] = '-';
  two(text + 5, month);
  text[7] = '-';
  two(text + 8, day);
  text[10] = 'T';
  two(text + 11, second_of_day / 3600);
  text[13] = ':';
  two(text + 14, (second_of_day / 60) % 60);
  text[16] = ':';
  two(text + 17, second_of_day % 60);
  size_t length = 19;
  if (nanos != 0) {
    int digits = nanos % 1000000 == 0 ? 3 : nanos % 1000 == 0 ? 6 : 9;
    int64_t fraction = digits == 3 ? nanos / 1000000 : digits == 6 ? nanos / 1000 : nanos;
    text[length++] = '.';
    for (int d = digits - 1; d >= 0; --d) {
      text[length + static_cast<size_t>(d)] = static_cast<char>('0' + fraction % 10);
      fraction /= 10;
    }
    length += static_cast<size_t>(digits);
  }
  text[length++] = 'Z';
  string(name, std::string_view(text, length));
}

void printAddress(JsonPrinter& p, std::string_view name, const Address& address) {
  if (!address.known()) return;
  p.key(name);
  p.beginObject();
  if (address.kind == Address::Kind::kIp) {
    p.key("socket_address");
    p.beginObject();
    p.string("protocol", "TCP");
    p.string("address", address.textView());
    p.string("resolver_name", "");
    p.flag("ipv4_compat", false);
    p.string("network_namespace_filepath", "");
    p.number("port_value", address.port);
    p.endObject();
  } else {
    p.key("pipe");
    p.beginObject();
    p.string("path", address.textView());
    p.number("mode", 0);
    p.endObject();
  }
  p.endObject();
}

void printConnection(JsonPrinter& p, std::string_view name, const ConnectionInfo& connection) {
  p.key(name);
  p.beginObject();
  printAddress(p, "local_address", connection.local);
  printAddress(p, "remote_address", connection.remote);
  p.endObject();
}

void printEvent(JsonPrinter& p, const EventView& event, const ConnectionInfo* event_connection,
                bool body_as_string) {
  p.beginObject();
  if (event.kind == EventKind::kClosed) {
    p.key("closed");
    p.beginObject();
    p.endObject();
  } else {
    p.key(event.kind == EventKind::kRead ? "read" : "write");
    p.beginObject();
    p.key("data");
    p.beginObject();
    p.flag("truncated", event.truncated);
    if (body_as_string && utf8::isValid(event.data)) {
      p.string("as_string", event.data);
    } else {
      p.base64("as_bytes", event.data);
    }
    p.endObject();
    if (event.kind == EventKind::kWrite) p.flag("end_stream", event.end_stream);
    p.endObject();
  }
  if (event_connection != nullptr) printConnection(p, "connection", *event_connection);
  p.bigNumber("seq_num", event.seq_num);
  p.timestamp("timestamp", event.timestamp_ns);
  p.endObject();
}

}  // namespace

bool JsonEncoder::encodeBuffered(const BufferedTraceData& trace, ByteBuffer* out) const {
  JsonPrinter p(out);
  p.beginObject();
  p.key("socket_buffered_trace");
  p.beginObject();
  p.bigNumber("trace_id", trace.trace_id);
  if (trace.connection != nullptr) printConnection(p, "connection", *trace.connection);
  p.key("events");
  p.beginArray();
  if (trace.events != nullptr) {
    trace.events->forEach([&](const EventView& event) {
      p.element();
      printEvent(p, event, nullptr, body_as_string_);
    });
  }
  p.endArray();
  p.flag("read_truncated", trace.read_truncated);
  p.flag("write_truncated", trace.write_truncated);
  p.endObject();
  p.endObject();
  p.finish();
  return p.ok();
}

bool JsonEncoder::encodeSegment(const SegmentData& segment, ByteBuffer* out) const {
  JsonPrinter p(out);
  p.beginObject();
  p.key("socket_streamed_trace_segment");
  p.beginObject();
  p.bigNumber("trace_id", segment.trace_id);
  switch (segment.piece) {
    case SegmentData::Piece::kConnection:
      printConnection(p, "connection", *segment.connection);
      break;
    case SegmentData::Piece::kEvent:
      p.key("event");
      printEvent(p, *segment.event, segment.event_connection, body_as_string_);
      break;
    case SegmentData::Piece::kEvents:
      p.key("events");
      p.beginObject();
      p.key("events");
      p.beginArray();
      segment.events->forEach([&](const EventView& event) {
        p.element();
        printEvent(p, event, segment.event_connection, body_as_string_);
      });
      p.endArray();
      p.endObject();
      break;
  }
  p.endObject();
  p.endObject();
  p.finish();
  return p.ok();
}

}  // namespace tapshim::core
