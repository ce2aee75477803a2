#include "tap_core/config/yaml_parser.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace tapshim::core {
namespace {

bool isBlank(char c) { return c == ' ' || c == '\t'; }
bool isFlowIndicator(char c) { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'; }

std::string describeChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789abcdef";
  std::string text = "byte 0x";
  text += kHex[byte >> 4];
  text += kHex[byte & 0xf];
  return text;
}

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

class Parser {
 public:
  explicit Parser(std::string text) : text_(std::move(text)) {}

  bool parseDocument(YamlNode* root);
  const YamlError& error() const { return error_; }

 private:
  // --- position -----------------------------------------------------------
  bool atEnd() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool blankOrEnd(size_t ahead) const {
    return pos_ + ahead >= text_.size() || isBlank(text_[pos_ + ahead]) ||
           text_[pos_ + ahead] == '\n';
  }
  int column() const { return static_cast<int>(pos_ - line_start_); }
  void newline() {  // at '\n'
    ++pos_;
    ++line_;
    line_start_ = pos_;
  }
  void skipInlineSpace() {
    while (!atEnd() && isBlank(text_[pos_])) ++pos_;
  }
  void skipToLineEnd() {
    while (!atEnd() && text_[pos_] != '\n') ++pos_;
  }
  bool afterBlank() const { return pos_ == line_start_ || isBlank(text_[pos_ - 1]); }
  bool atSequenceEntry() const { return peek() == '-' && blankOrEnd(1); }
  bool atDocumentMarker() const {
    if (column() != 0 || text_.size() - pos_ < 3) return false;
    const std::string_view head(text_.data() + pos_, 3);
    return (head == "---" || head == "...") && blankOrEnd(3);
  }

  // --- errors ---------------------------------------------------------------
  bool failAt(int line, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_.line = line;
      error_.message = std::move(message);
    }
    return false;
  }
  bool fail(std::string message) { return failAt(line_, std::move(message)); }

  // --- layout ---------------------------------------------------------------
  bool normalize();
  bool skipToContent();
  bool finishLine();
  bool skipFlowSpace();

  // --- nodes ----------------------------------------------------------------
  bool parseBlockNode(int indent, int depth, YamlNode* out);
  bool parseBlockMapping(int indent, int depth, YamlNode first_key, YamlNode* out);
  bool parseBlockValue(int parent_indent, int depth, YamlNode* out);
  bool parseBlockSequence(int indent, int depth, YamlNode* out);
  bool parseFlowNode(int depth, YamlNode* out);
  bool parseFlowSequence(int depth, YamlNode* out);
  bool parseFlowMapping(int depth, YamlNode* out);
  bool parseScalar(bool flow, YamlNode* out);
  bool parseDoubleQuoted(YamlNode* out);
  bool parseSingleQuoted(YamlNode* out);
  bool parseEscape(std::string* out);
  bool checkDuplicateKeys(const YamlNode& map);
  bool checkDepth(int depth) {
    if (depth <= kMaxYamlDepth) return true;
    return fail("nesting deeper than " + std::to_string(kMaxYamlDepth) + " levels");
  }

  std::string text_;
  size_t pos_ = 0;
  size_t line_start_ = 0;
  int line_ = 1;
  bool failed_ = false;
  YamlError error_;
};

// CRLF to LF; refuses bytes that have no place in a configuration file.
bool Parser::normalize() {
  if (text_.size() >= 3 && static_cast<unsigned char>(text_[0]) == 0xef &&
      static_cast<unsigned char>(text_[1]) == 0xbb && static_cast<unsigned char>(text_[2]) == 0xbf) {
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
bool Parser::skipToContent() {
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
bool Parser::finishLine() {
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
bool Parser::skipFlowSpace() {
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

bool Parser::parseDocument(YamlNode* root) {
  if (!normalize()) return false;
  if (!skipToContent()) return false;
  if (!atEnd() && column() == 0 && peek() == '%') {
    return fail("directives ('%') are not supported");
  }
  if (atDocumentMarker()) {
    if (peek() == '.') return failAt(1, "the document is empty");
    pos_ += 3;
    skipInlineSpace();
    if (!atEnd() && peek() != '\n' && peek() != '#') {
      return fail("content on the '---' line is not supported; start it on the next line");
    }
    skipToLineEnd();
    if (!atEnd()) newline();
    if (!skipToContent()) return false;
  }
  if (atEnd()) return failAt(1, "the document is empty");
  if (atDocumentMarker()) {
    if (peek() == '-') return fail("several documents ('---') are not supported");
    return failAt(1, "the document is empty");
  }
  if (!parseBlockNode(column(), 0, root)) return false;
  if (atEnd()) return true;
  if (atDocumentMarker()) {
    if (peek() == '-') return fail("several documents ('---') are not supported");
    pos_ += 3;
    skipInlineSpace();
    if (!atEnd() && peek() != '\n' && peek() != '#') {
      return fail("content after the document end marker '...'");
    }
    skipToLineEnd();
    if (!atEnd()) newline();
    if (!skipToContent()) return false;
    if (!atEnd()) return fail("content after the document end marker '...' (several documents are not supported)");
    return true;
  }
  return fail("unexpected content after the document's top-level value (check its indentation)");
}

// At content at column `indent` (possibly mid-line, after "- ").
bool Parser::parseBlockNode(int indent, int depth, YamlNode* out) {
  if (!checkDepth(depth)) return false;
  out->line = line_;
  const char c = peek();
  if (atSequenceEntry()) return parseBlockSequence(indent, depth, out);
  if (c == '[' || c == '{') {
    if (!parseFlowNode(depth, out)) return false;
    skipInlineSpace();
    if (peek() == ':') return fail("a flow collection as a mapping key is not supported");
    return finishLine() && skipToContent();
  }
  if (c == '?' && blankOrEnd(1)) return fail("explicit keys ('?') are not supported");
  YamlNode first;
  if (!parseScalar(false, &first)) return false;
  const size_t after = pos_;
  skipInlineSpace();
  if (peek() == ':' && blankOrEnd(1)) return parseBlockMapping(indent, depth, std::move(first), out);
  pos_ = after;
  // A scalar: keep `out`'s key, which its mapping has already set.
  out->kind = first.kind;
  out->quoted = first.quoted;
  out->line = first.line;
  out->value = std::move(first.value);
  return finishLine() && skipToContent();
}

// The position is at the ':' after `first_key`.
bool Parser::parseBlockMapping(int indent, int depth, YamlNode first_key, YamlNode* out) {
  out->kind = YamlNode::Kind::kMap;
  out->line = first_key.line;
  YamlNode key = std::move(first_key);
  while (true) {
    ++pos_;  // ':'
    YamlNode value;
    value.key = std::move(key.value);
    value.key_line = key.line;
    if (!parseBlockValue(indent, depth + 1, &value)) return false;
    out->children.push_back(std::move(value));

    if (atEnd() || atDocumentMarker()) break;
    const int next = column();
    if (next < indent) break;
    if (next > indent) return fail("unexpected indentation (deeper than the key above it)");
    if (atSequenceEntry()) return fail("a sequence item where a mapping key was expected");
    const char c = peek();
    if (c == '[' || c == '{') return fail("a flow collection as a mapping key is not supported");
    if (c == '?' && blankOrEnd(1)) return fail("explicit keys ('?') are not supported");
    key = YamlNode{};
    if (!parseScalar(false, &key)) return false;
    skipInlineSpace();
    if (!(peek() == ':' && blankOrEnd(1))) {
      return fail("expected 'key: value' (or a multi-line plain scalar, which is not supported)");
    }
  }
  return checkDuplicateKeys(*out);
}

// Right after a block mapping's ':'. Leaves the position at the next
// content line.
bool Parser::parseBlockValue(int parent_indent, int depth, YamlNode* out) {
  out->line = line_;
  skipInlineSpace();
  if (atEnd() || peek() == '\n' || peek() == '#') {
    skipToLineEnd();
    if (!atEnd()) newline();
    if (!skipToContent()) return false;
    if (atEnd() || atDocumentMarker()) return true;  // null
    const int next = column();
    if (next > parent_indent) return parseBlockNode(next, depth, out);
    if (next == parent_indent && atSequenceEntry()) {
      if (!checkDepth(depth)) return false;
      out->line = line_;
      return parseBlockSequence(next, depth, out);
    }
    return true;  // null
  }
  if (!checkDepth(depth)) return false;
  const char c = peek();
  if (atSequenceEntry()) return fail("a sequence cannot start on its key's line; start it on the next line");
  if (c == '[' || c == '{') {
    if (!parseFlowNode(depth, out)) return false;
    return finishLine() && skipToContent();
  }
  if (c == '?' && blankOrEnd(1)) return fail("explicit keys ('?') are not supported");
  if (!parseScalar(false, out)) return false;
  return finishLine() && skipToContent();
}

// At a '-' entry at column `indent`.
bool Parser::parseBlockSequence(int indent, int depth, YamlNode* out) {
  out->kind = YamlNode::Kind::kSequence;
  out->line = line_;
  while (true) {
    ++pos_;  // '-'
    YamlNode item;
    item.line = line_;
    const size_t before = pos_;
    skipInlineSpace();
    if (atEnd() || peek() == '\n' || peek() == '#') {
      skipToLineEnd();
      if (!atEnd()) newline();
      if (!skipToContent()) return false;
      if (!atEnd() && !atDocumentMarker() && column() > indent) {
        if (!parseBlockNode(column(), depth + 1, &item)) return false;
      }
    } else {
      for (size_t i = before; i < pos_; ++i) {
        if (text_[i] == '\t') return fail("tab character in indentation (YAML indents with spaces only)");
      }
      if (!parseBlockNode(column(), depth + 1, &item)) return false;
    }
    out->children.push_back(std::move(item));

    if (atEnd() || atDocumentMarker()) break;
    const int next = column();
    if (next < indent) break;
    if (next > indent) return fail("unexpected indentation (deeper than the sequence item above it)");
    if (!atSequenceEntry()) break;  // e.g. the next key of the mapping holding this sequence
  }
  return true;
}

bool Parser::parseFlowNode(int depth, YamlNode* out) {
  if (!checkDepth(depth)) return false;
  out->line = line_;
  const char c = peek();
  if (c == '[') return parseFlowSequence(depth, out);
  if (c == '{') return parseFlowMapping(depth, out);
  if ((c == '-' || c == '?') && (blankOrEnd(1) || isFlowIndicator(peek(1)))) {
    return fail("unexpected " + describeChar(c) + " in a flow collection");
  }
  return parseScalar(true, out);
}

bool Parser::parseFlowSequence(int depth, YamlNode* out) {
  const int open_line = line_;
  out->kind = YamlNode::Kind::kSequence;
  ++pos_;  // '['
  while (true) {
    if (!skipFlowSpace()) return false;
    if (atEnd()) return failAt(open_line, "unterminated flow sequence: '[' is never closed");
    if (peek() == ']') break;
    YamlNode item;
    if (!parseFlowNode(depth + 1, &item)) return false;
    out->children.push_back(std::move(item));
    if (!skipFlowSpace()) return false;
    if (atEnd()) return failAt(open_line, "unterminated flow sequence: '[' is never closed");
    if (peek() == ',') {
      ++pos_;
      continue;
    }
    if (peek() == ']') break;
    if (peek() == ':') return fail("'key: value' pairs inside a flow sequence are not supported");
    return fail("expected ',' or ']' in a flow sequence, found " + describeChar(peek()));
  }
  ++pos_;  // ']'
  return true;
}

bool Parser::parseFlowMapping(int depth, YamlNode* out) {
  const int open_line = line_;
  out->kind = YamlNode::Kind::kMap;
  ++pos_;  // '{'
  while (true) {
    if (!skipFlowSpace()) return false;
    if (atEnd()) return failAt(open_line, "unterminated flow mapping: '{' is never closed");
    if (peek() == '}') break;
    const char c = peek();
    if (c == '[' || c == '{') return fail("a flow collection as a mapping key is not supported");
    if (c == '?' && (blankOrEnd(1) || isFlowIndicator(peek(1)))) {
      return fail("explicit keys ('?') are not supported");
    }
    YamlNode key;
    if (!parseFlowNode(depth + 1, &key)) return false;
    skipInlineSpace();
    if (peek() != ':') {
      if (atEnd()) return failAt(open_line, "unterminated flow mapping: '{' is never closed");
      return fail("expected ':' after the key " + quoteForMessage(key.value) +
                  " (entries without a value are not supported)");
    }
    ++pos_;  // ':'
    YamlNode value;
    value.key = std::move(key.value);
    value.key_line = key.line;
    value.line = line_;
    if (!skipFlowSpace()) return false;
    if (atEnd()) return failAt(open_line, "unterminated flow mapping: '{' is never closed");
    if (peek() != ',' && peek() != '}') {
      if (!parseFlowNode(depth + 1, &value)) return false;
    }
    out->children.push_back(std::move(value));
    if (!skipFlowSpace()) return false;
    if (atEnd()) return failAt(open_line, "unterminated flow mapping: '{' is never closed");
    if (peek() == ',') {
      ++pos_;
      continue;
    }
    if (peek() == '}') break;
    return fail("expected ',' or '}' in a flow mapping, found " + describeChar(peek()));
  }
  ++pos_;  // '}'
  return checkDuplicateKeys(*out);
}

bool Parser::parseScalar(bool flow, YamlNode* out) {
  out->line = line_;
  const char c = peek();
  switch (c) {
    case '"': return parseDoubleQuoted(out);
    case '\'': return parseSingleQuoted(out);
    case '&': return fail("anchors ('&') are not supported");
    case '*': return fail("aliases ('*') are not supported");
    case '!': return fail("tags ('!') are not supported");
    case '|':
    case '>': return fail("block scalars ('|', '>') are not supported; use a quoted string");
    case '%': return fail("'%' cannot start a plain scalar (quote it)");
    case '@':
    case '`': return fail(describeChar(c) + " cannot start a plain scalar (quote it)");
    case ',':
    case '[':
    case ']':
    case '{':
    case '}':
    case '#': return fail("unexpected " + describeChar(c));
    default: break;
  }
  if ((c == '-' || c == '?' || c == ':') && (blankOrEnd(1) || (flow && isFlowIndicator(peek(1))))) {
    if (c == ':') return fail("empty mapping key");
    return fail("unexpected " + describeChar(c));
  }
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

bool Parser::parseDoubleQuoted(YamlNode* out) {
  const int open_line = line_;
  ++pos_;  // '"'
  std::string value;
  while (true) {
    if (atEnd() || peek() == '\n') {
      return failAt(open_line,
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

// After a backslash in a double-quoted scalar.
bool Parser::parseEscape(std::string* out) {
  if (atEnd() || peek() == '\n') {
    return fail("unterminated double-quoted string (line continuations are not supported)");
  }
  const char c = text_[pos_++];
  int digits = 0;
  switch (c) {
    case '0': out->push_back('\0'); return true;
    case 'a': out->push_back('\a'); return true;
    case 'b': out->push_back('\b'); return true;
    case 't':
    case '\t': out->push_back('\t'); return true;
    case 'n': out->push_back('\n'); return true;
    case 'v': out->push_back('\v'); return true;
    case 'f': out->push_back('\f'); return true;
    case 'r': out->push_back('\r'); return true;
    case 'e': out->push_back('\x1b'); return true;
    case ' ': out->push_back(' '); return true;
    case '"': out->push_back('"'); return true;
    case '/': out->push_back('/'); return true;
    case '\\': out->push_back('\\'); return true;
    case 'N': appendUtf8(out, 0x85); return true;
    case '_': appendUtf8(out, 0xa0); return true;
    case 'L': appendUtf8(out, 0x2028); return true;
    case 'P': appendUtf8(out, 0x2029); return true;
    case 'x': digits = 2; break;
    case 'u': digits = 4; break;
    case 'U': digits = 8; break;
    default: return fail("unknown escape '\\" + std::string(1, c) + "' in a double-quoted string");
  }
  auto readHex = [&](int count, uint32_t* code) {
    *code = 0;
    for (int i = 0; i < count; ++i) {
      const int digit = hexValue(peek());
      if (digit < 0) return fail("escape '\\" + std::string(1, c) + "' needs " + std::to_string(count) +
                                 " hexadecimal digits");
      *code = (*code << 4) | static_cast<uint32_t>(digit);
      ++pos_;
    }
    return true;
  };
  uint32_t code = 0;
  if (!readHex(digits, &code)) return false;
  if (c == 'x') {  // a byte, as YAML means it: the code point U+00XX
    appendUtf8(out, code);
    return true;
  }
  if (c == 'u' && code >= 0xd800 && code <= 0xdbff) {  // JSON's surrogate pair
    uint32_t low = 0;
    if (peek() != '\\' || peek(1) != 'u') return fail("unpaired UTF-16 surrogate in a \\u escape");
    pos_ += 2;
    if (!readHex(4, &low)) return false;
    if (low < 0xdc00 || low > 0xdfff) return fail("unpaired UTF-16 surrogate in a \\u escape");
    code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
  } else if (code >= 0xd800 && code <= 0xdfff) {
    return fail("unpaired UTF-16 surrogate in a \\u escape");
  }
  if (code > 0x10ffff) return fail("escape beyond U+10FFFF");
  appendUtf8(out, code);
  return true;
}

bool Parser::parseSingleQuoted(YamlNode* out) {
  const int open_line = line_;
  ++pos_;  // '\''
  std::string value;
  while (true) {
    if (atEnd() || peek() == '\n') {
      return failAt(open_line,
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

// O(n log n), so that a huge mapping cannot make the parser hang.
bool Parser::checkDuplicateKeys(const YamlNode& map) {
  const auto& children = map.children;
  if (children.size() < 2) return true;
  std::vector<size_t> order(children.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return children[a].key < children[b].key; });
  size_t duplicate = children.size();
  size_t original = 0;
  for (size_t i = 1; i < order.size(); ++i) {
    if (children[order[i]].key != children[order[i - 1]].key) continue;
    if (order[i] < duplicate) {
      duplicate = order[i];
      size_t first = i - 1;
      while (first > 0 && children[order[first - 1]].key == children[order[i]].key) --first;
      original = order[first];
    }
  }
  if (duplicate == children.size()) return true;
  return failAt(children[duplicate].key_line,
                "duplicate key " + quoteForMessage(children[duplicate].key) + " (first on line " +
                    std::to_string(children[original].key_line) + ")");
}

}  // namespace

std::string quoteForMessage(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  constexpr size_t kMaxShown = 120;
  std::string quoted = "'";
  size_t shown = 0;
  for (char c : text) {
    if (shown == kMaxShown) {
      quoted += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\' && c != '\'') {
      quoted.push_back(c);
    } else {
      quoted += "\\x";
      quoted.push_back(kHex[byte >> 4]);
      quoted.push_back(kHex[byte & 0xf]);
    }
    ++shown;
  }
  quoted += "'";
  return quoted;
}

std::optional<YamlNode> parseYaml(std::string_view text, YamlError* error) {
  Parser parser{std::string(text)};
  YamlNode root;
  if (!parser.parseDocument(&root)) {
    if (error != nullptr) *error = parser.error();
    return std::nullopt;
  }
  return root;
}

}  // namespace tapshim::core
