#include "tap_core/config/yaml_scanner.h"

namespace tapshim::core {
namespace {

bool isPlainNull(std::string_view text) {
  return text == "~" || text == "null" || text == "Null" || text == "NULL";
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void appendUtf8(std::string* out, uint32_t code) {
  if (code < 0x80) {
    out->push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (code >> 6)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
  } else if (code < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (code >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (code >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
  }
}

}  // namespace

std::string YamlScanner::describeChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789abcdef";
  std::string text = "byte 0x";
  text += kHex[byte >> 4];
  text += kHex[byte & 0xf];
  return text;
}

// CRLF to LF; refuses bytes that have no place in a configuration file.
bool YamlScanner::normalize() {
  if (text_.size() >= 3 && static_cast<unsigned char>(text_[0]) == 0xef &&
      static_cast<unsigned char>(text_[1]) == 0xbb &&
      static_cast<unsigned char>(text_[2]) == 0xbf) {
    text_.erase(0, 3);
  }
  std::string clean;
  clean.reserve(text_.size());
  int line = 1;
  for (size_t i = 0; i < text_.size(); ++i) {
    const char c = text_[i];
    if (c == '\r') {
      if (i + 1 < text_.size() && text_[i + 1] == '\n') continue;
      return failAt(line, "carriage return without a line feed");
    }
    if (c == '\n') ++line;
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f) {
      return failAt(line, "control character (" + describeChar(c) + ") in the file");
    }
    clean.push_back(c);
  }
  text_ = std::move(clean);
  return true;
}

// From the start of a line: skips blank and comment-only lines and leaves
// the position at the first content character (or the end).
bool YamlScanner::skipToContent() {
  while (!atEnd()) {
    while (!atEnd() && text_[pos_] == ' ') ++pos_;
    if (!atEnd() && text_[pos_] == '\t') {
      skipInlineSpace();
      if (!atEnd() && text_[pos_] != '\n' && text_[pos_] != '#') {
        return fail("tab character in indentation (YAML indents with spaces only)");
      }
    }
    if (atEnd()) return true;
    if (text_[pos_] == '#') skipToLineEnd();
    if (atEnd()) return true;
    if (text_[pos_] != '\n') return true;
    newline();
  }
  return true;
}

// After a complete value: only whitespace and a comment may follow on the
// line. Leaves the position at the start of the next line.
bool YamlScanner::finishLine() {
  skipInlineSpace();
  if (atEnd()) return true;
  if (text_[pos_] == '#' && afterBlank()) skipToLineEnd();
  if (atEnd()) return true;
  if (text_[pos_] == '\n') {
    newline();
    return true;
  }
  if (text_[pos_] == ':' && blankOrEnd(1)) {
    return fail("unexpected ':' (a nested mapping starts on its own line, indented)");
  }
  return fail("unexpected " + describeChar(text_[pos_]) + " after the value");
}

// Whitespace, line breaks and comments inside a flow collection.
bool YamlScanner::skipFlowSpace() {
  while (!atEnd()) {
    const char c = text_[pos_];
    if (isBlank(c)) {
      ++pos_;
    } else if (c == '\n') {
      newline();
      if (atDocumentMarker()) return fail("document marker inside a flow collection");
    } else if (c == '#' && afterBlank()) {
      skipToLineEnd();
    } else {
      break;
    }
  }
  return true;
}

bool YamlScanner::parseScalar(bool flow, YamlNode* out) {
  out->line = line_;
  const char c = peek();
  switch (c) {
    case '"':
      return parseDoubleQuoted(out);
    case '\'':
      return parseSingleQuoted(out);
    case '&':
      return fail("anchors ('&') are not supported");
    case '*':
      return fail("aliases ('*') are not supported");
    case '!':
      return fail("tags ('!') are not supported");
    case '|':
    case '>':
      return fail("block scalars ('|', '>') are not supported; use a quoted string");
    case '%':
      return fail("'%' cannot start a plain scalar (quote it)");
    case '@':
    case '`':
      return fail(describeChar(c) + " cannot start a plain scalar (quote it)");
    case ',':
    case '[':
    case ']':
    case '{':
    case '}':
    case '#':
      return fail("unexpected " + describeChar(c));
    default:
      break;
  }
  if ((c == '-' || c == '?' || c == ':') && (blankOrEnd(1) || (flow && isFlowIndicator(peek(1))))) {
    if (c == ':') return fail("empty mapping key");
    return fail("unexpected " + describeChar(c));
  }
  return parsePlainScalar(flow, out);
}

// A plain scalar ends at the line's end, at ": ", at " #" or, in a flow
// collection, at a flow indicator (also right after a ':'); trailing blanks
// are not part of it.
bool YamlScanner::parsePlainScalar(bool flow, YamlNode* out) {
  const size_t start = pos_;
  while (!atEnd()) {
    const char ch = text_[pos_];
    if (ch == '\n') break;
    if (ch == ':' && (blankOrEnd(1) || (flow && isFlowIndicator(peek(1))))) break;
    if (ch == '#' && pos_ > start && isBlank(text_[pos_ - 1])) break;
    if (flow && isFlowIndicator(ch)) break;
    ++pos_;
  }
  size_t end = pos_;
  while (end > start && isBlank(text_[end - 1])) --end;
  if (end == start) return fail("expected a value");
  out->value.assign(text_, start, end - start);
  out->quoted = false;
  out->kind = isPlainNull(out->value) ? YamlNode::Kind::kNull : YamlNode::Kind::kScalar;
  return true;
}

bool YamlScanner::parseDoubleQuoted(YamlNode* out) {
  const int open_line = line_;
  ++pos_;  // '"'
  std::string value;
  while (true) {
    if (atEnd() || peek() == '\n') {
      return failAt(
          open_line,
          "unterminated double-quoted string (multi-line quoted strings are not supported)");
    }
    const char c = text_[pos_++];
    if (c == '"') break;
    if (c == '\\') {
      if (!parseEscape(&value)) return false;
    } else {
      value.push_back(c);
    }
  }
  out->kind = YamlNode::Kind::kScalar;
  out->quoted = true;
  out->value = std::move(value);
  return true;
}

// After a backslash in a double-quoted scalar. A flat table of YAML's
// escapes; the ones with hexadecimal digits continue in
// parseCodePointEscape().
bool YamlScanner::parseEscape(std::string* out) {
  if (atEnd() || peek() == '\n') {
    return fail("unterminated double-quoted string (line continuations are not supported)");
  }
  const char c = text_[pos_++];
  switch (c) {
    case '0':
      out->push_back('\0');
      return true;
    case 'a':
      out->push_back('\a');
      return true;
    case 'b':
      out->push_back('\b');
      return true;
    case 't':
    case '\t':
      out->push_back('\t');
      return true;
    case 'n':
      out->push_back('\n');
      return true;
    case 'v':
      out->push_back('\v');
      return true;
    case 'f':
      out->push_back('\f');
      return true;
    case 'r':
      out->push_back('\r');
      return true;
    case 'e':
      out->push_back('\x1b');
      return true;
    case ' ':
      out->push_back(' ');
      return true;
    case '"':
      out->push_back('"');
      return true;
    case '/':
      out->push_back('/');
      return true;
    case '\\':
      out->push_back('\\');
      return true;
    case 'N':
      appendUtf8(out, 0x85);
      return true;
    case '_':
      appendUtf8(out, 0xa0);
      return true;
    case 'L':
      appendUtf8(out, 0x2028);
      return true;
    case 'P':
      appendUtf8(out, 0x2029);
      return true;
    case 'x':
      return parseCodePointEscape(c, 2, out);
    case 'u':
      return parseCodePointEscape(c, 4, out);
    case 'U':
      return parseCodePointEscape(c, 8, out);
    default:
      return fail("unknown escape '\\" + std::string(1, c) + "' in a double-quoted string");
  }
}

// The `digits` hexadecimal digits after \x, \u or \U (`letter`), appended as
// UTF-8; a \u of a high surrogate takes the \u of its low surrogate after it.
bool YamlScanner::parseCodePointEscape(char letter, int digits, std::string* out) {
  uint32_t code = 0;
  if (!readHexDigits(letter, digits, &code)) return false;
  if (letter == 'x') {  // a byte, as YAML means it: the code point U+00XX
    appendUtf8(out, code);
    return true;
  }
  if (letter == 'u' && code >= 0xd800 && code <= 0xdbff) {  // JSON's surrogate pair
    uint32_t low = 0;
    if (peek() != '\\' || peek(1) != 'u') return fail("unpaired UTF-16 surrogate in a \\u escape");
    pos_ += 2;
    if (!readHexDigits(letter, 4, &low)) return false;
    if (low < 0xdc00 || low > 0xdfff) return fail("unpaired UTF-16 surrogate in a \\u escape");
    code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
  } else if (code >= 0xd800 && code <= 0xdfff) {
    return fail("unpaired UTF-16 surrogate in a \\u escape");
  }
  if (code > 0x10ffff) return fail("escape beyond U+10FFFF");
  appendUtf8(out, code);
  return true;
}

// `count` hexadecimal digits into `*code`; the error names the escape's
// `letter`.
bool YamlScanner::readHexDigits(char letter, int count, uint32_t* code) {
  *code = 0;
  for (int i = 0; i < count; ++i) {
    const int digit = hexValue(peek());
    if (digit < 0) {
      return fail("escape '\\" + std::string(1, letter) + "' needs " + std::to_string(count) +
                  " hexadecimal digits");
    }
    *code = (*code << 4) | static_cast<uint32_t>(digit);
    ++pos_;
  }
  return true;
}

bool YamlScanner::parseSingleQuoted(YamlNode* out) {
  const int open_line = line_;
  ++pos_;  // '\''
  std::string value;
  while (true) {
    if (atEnd() || peek() == '\n') {
      return failAt(
          open_line,
          "unterminated single-quoted string (multi-line quoted strings are not supported)");
    }
    const char c = text_[pos_++];
    if (c == '\'') {
      if (peek() != '\'') break;
      ++pos_;
    }
    value.push_back(c);
  }
  out->kind = YamlNode::Kind::kScalar;
  out->quoted = true;
  out->value = std::move(value);
  return true;
}

}  // namespace tapshim::core
