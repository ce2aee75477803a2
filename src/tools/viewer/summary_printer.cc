#include "tools/viewer/summary_printer.h"

#include <cinttypes>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tapshim::view {
namespace {

using envoy::config::core::v3::Address;

const char* kindName(EventView::Kind kind) {
  switch (kind) {
    case EventView::Kind::kRead:
      return "read";
    case EventView::Kind::kWrite:
      return "write";
    case EventView::Kind::kClosed:
      break;
  }
  return "closed";
}

std::string plural(uint64_t count, const char* noun) {
  return absl::StrCat(count, " ", noun, count == 1 ? "" : "s");
}

std::string directionText(const char* verb, const DirectionView& direction) {
  std::string text =
      absl::StrCat(verb, " ", direction.bytes, " B (", plural(direction.events, "event"));
  if (direction.truncated) {
    absl::StrAppend(&text, ", truncated: ", direction.cut_events, " cut, ",
                    plural(direction.gap_events, "gap"));
  }
  return text + ")";
}

// Length of the valid UTF-8 sequence at text[i], or 0.
size_t utf8Length(const std::string& text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length;
  uint32_t min;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  uint32_t code = lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

std::string addressJson(const Address* address) {
  if (address == nullptr) return "null";
  if (address->has_socket_address()) {
    const auto& socket = address->socket_address();
    std::string port = socket.has_named_port() ? jsonString(socket.named_port())
                                               : absl::StrCat(socket.port_value());
    return absl::StrCat("{\"address\":", jsonString(socket.address()), ",\"port\":", port, "}");
  }
  if (address->has_pipe())
    return absl::StrCat("{\"pipe\":", jsonString(address->pipe().path()), "}");
  if (address->has_envoy_internal_address()) {
    return absl::StrCat("{\"internal\":",
                        jsonString(address->envoy_internal_address().server_listener_name()), "}");
  }
  return "null";
}

std::string directionJson(const DirectionView& direction) {
  return absl::StrCat("{\"bytes\":", direction.bytes, ",\"events\":", direction.events,
                      ",\"truncated\":", direction.truncated ? "true" : "false",
                      ",\"cut_events\":", direction.cut_events,
                      ",\"gap_events\":", direction.gap_events, "}");
}

int64_t relative(const TraceView& trace, const EventView& event) {
  return event.has_time && trace.has_time ? event.time_ns - trace.first_ns : 0;
}

}  // namespace

std::string formatAddress(const Address* address) {
  if (address == nullptr) return "?";
  if (address->has_socket_address()) {
    const auto& socket = address->socket_address();
    const std::string host = socket.address().find(':') != std::string::npos
                                 ? absl::StrCat("[", socket.address(), "]")
                                 : socket.address();
    return socket.has_named_port() ? absl::StrCat(host, ":", socket.named_port())
                                   : absl::StrCat(host, ":", socket.port_value());
  }
  if (address->has_pipe()) {
    return address->pipe().path().empty() ? "(unnamed)" : address->pipe().path();
  }
  if (address->has_envoy_internal_address()) {
    return absl::StrCat("internal:", address->envoy_internal_address().server_listener_name());
  }
  return "?";
}

std::string previewOf(const std::string& data, uint64_t size, size_t width) {
  std::string out;
  size_t used = 0;
  for (; used < data.size(); ++used) {
    const unsigned char c = static_cast<unsigned char>(data[used]);
    std::string piece;
    switch (c) {
      case '\r':
        piece = "\\r";
        break;
      case '\n':
        piece = "\\n";
        break;
      case '\t':
        piece = "\\t";
        break;
      case '\\':
        piece = "\\\\";
        break;
      case '"':
        piece = "\\\"";
        break;
      default:
        piece = c >= 0x20 && c < 0x7f ? std::string(1, static_cast<char>(c))
                                      : absl::StrFormat("\\x%02x", c);
    }
    if (out.size() + piece.size() > width) break;
    out += piece;
  }
  const bool cut = used < data.size() || size > data.size();
  return absl::StrCat("\"", out, "\"", cut ? "..." : "");
}

std::string formatDuration(int64_t ns) {
  if (ns < 1'000) return absl::StrCat(ns, " ns");
  if (ns < 1'000'000) return absl::StrFormat("%.3f us", static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000) return absl::StrFormat("%.3f ms", static_cast<double>(ns) / 1e6);
  return absl::StrFormat("%.3f s", static_cast<double>(ns) / 1e9);
}

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += absl::StrFormat("\\u%04x", c);
    } else if (c >= 0x80) {
      const size_t length = utf8Length(text, i);
      if (length == 0) {
        out += absl::StrFormat("\\u%04x", c);
      } else {
        out.append(text, i, length);
        i += length;
        continue;
      }
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out + "\"";
}

void printText(const TraceView& trace, bool with_events, std::FILE* out) {
  // A unix socket's side without a name (a client's, usually) has no address.
  const bool pipe =
      (trace.local && trace.local->has_pipe()) || (trace.remote && trace.remote->has_pipe());
  auto side = [pipe](const std::optional<Address>& address) {
    return address ? formatAddress(&*address) : pipe ? "(unnamed)" : "?";
  };
  std::string line = absl::StrCat("trace ", trace.trace_id, "  ", side(trace.local), " → ",
                                  side(trace.remote), "  ");
  if (trace.pid || !trace.process_name.empty()) {
    absl::StrAppend(&line, trace.process_name.empty() ? "?" : trace.process_name, "[",
                    trace.pid.value_or(0), "]  ");
  }
  absl::StrAppend(&line, directionText("sent", trace.sent), "  ",
                  directionText("received", trace.received), "  ");
  if (trace.closed_events > 0) absl::StrAppend(&line, "closed  ");
  if (trace.undecrypted_tls) absl::StrAppend(&line, "TLS-not-decrypted  ");
  if (trace.joined_late) absl::StrAppend(&line, "joined-late  ");
  absl::StrAppend(&line, trace.has_time ? formatDuration(trace.last_ns - trace.first_ns) : "-",
                  "  ", trace.streamed ? "streamed" : "buffered", "  ", trace.file, "\n");
  std::fputs(line.c_str(), out);
  if (!with_events) return;
  for (const EventView& event : trace.events) {
    std::string text =
        absl::StrFormat("    +%.6f s  ", static_cast<double>(relative(trace, event)) / 1e9);
    switch (event.kind) {
      case EventView::Kind::kWrite:
        absl::StrAppend(&text, "→ ", event.size, " B");
        break;
      case EventView::Kind::kRead:
        absl::StrAppend(&text, "← ", event.size, " B");
        break;
      case EventView::Kind::kClosed:
        absl::StrAppend(&text, "closed");
        break;
    }
    if (event.truncated) absl::StrAppend(&text, "  truncated");
    if (event.end_stream) absl::StrAppend(&text, "  end_stream");
    if (trace.streamed && event.seq_num != 0) absl::StrAppend(&text, "  seq ", event.seq_num);
    if (event.kind != EventView::Kind::kClosed) {
      absl::StrAppend(&text, "  ", previewOf(event.preview, event.size));
    }
    text += "\n";
    std::fputs(text.c_str(), out);
  }
}

void printJson(const TraceView& trace, bool with_events, std::FILE* out) {
  std::string line = absl::StrCat(
      "{\"trace_id\":\"", trace.trace_id, "\",\"file\":", jsonString(trace.file),
      ",\"streamed\":", trace.streamed ? "true" : "false", ",\"records\":", trace.records,
      ",\"local\":", addressJson(trace.local ? &*trace.local : nullptr),
      ",\"remote\":", addressJson(trace.remote ? &*trace.remote : nullptr));
  if (trace.pid) absl::StrAppend(&line, ",\"pid\":", *trace.pid);
  if (trace.pid || !trace.process_name.empty()) {
    absl::StrAppend(&line, ",\"process\":", jsonString(trace.process_name));
  }
  if (trace.undecrypted_tls) absl::StrAppend(&line, ",\"undecrypted_tls\":true");
  if (trace.joined_late) absl::StrAppend(&line, ",\"joined_late\":true");
  absl::StrAppend(&line, ",\"sent\":", directionJson(trace.sent),
                  ",\"received\":", directionJson(trace.received),
                  ",\"closed_events\":", trace.closed_events);
  if (trace.has_time) {
    absl::StrAppend(&line, ",\"first_ns\":", trace.first_ns, ",\"last_ns\":", trace.last_ns,
                    ",\"duration_ns\":", trace.last_ns - trace.first_ns);
  }
  if (with_events) {
    line += ",\"events\":[";
    for (size_t i = 0; i < trace.events.size(); ++i) {
      const EventView& event = trace.events[i];
      absl::StrAppend(&line, i == 0 ? "" : ",", "{\"kind\":\"", kindName(event.kind),
                      "\",\"offset_ns\":", relative(trace, event), ",\"size\":", event.size,
                      ",\"truncated\":", event.truncated ? "true" : "false",
                      ",\"end_stream\":", event.end_stream ? "true" : "false",
                      ",\"seq_num\":", event.seq_num, ",\"preview\":", jsonString(event.preview),
                      "}");
    }
    line += "]";
  }
  line += "}\n";
  std::fputs(line.c_str(), out);
}

}  // namespace tapshim::view
