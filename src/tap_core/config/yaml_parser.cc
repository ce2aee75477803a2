#include "tap_core/config/yaml_parser.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "tap_core/config/yaml_scanner.h"

namespace tapshim::core {
namespace {

// The document's structure, over the scanner's characters and scalars.
class Parser : public YamlScanner {
 public:
  explicit Parser(std::string text) : YamlScanner(std::move(text)) {}

  bool parseDocument(YamlNode* root);

 private:
  // --- document -------------------------------------------------------------
  bool skipDocumentStart();
  bool finishDocument();
  bool skipMarkerLine(const char* problem);

  // --- nodes ----------------------------------------------------------------
  bool parseBlockNode(int indent, int depth, YamlNode* out);
  bool parseBlockMapping(int indent, int depth, YamlNode first_key, YamlNode* out);
  bool parseBlockValue(int parent_indent, int depth, YamlNode* out);
  bool parseBlockSequence(int indent, int depth, YamlNode* out);
  bool parseFlowNode(int depth, YamlNode* out);
  bool parseFlowSequence(int depth, YamlNode* out);
  bool parseFlowMapping(int depth, YamlNode* out);
  bool parseFlowMappingEntry(int depth, int open_line, YamlNode* map);
  bool checkDuplicateKeys(const YamlNode& map);
  bool checkDepth(int depth) {
    if (depth <= kMaxYamlDepth) return true;
    return fail("nesting deeper than " + std::to_string(kMaxYamlDepth) + " levels");
  }
};

bool Parser::parseDocument(YamlNode* root) {
  if (!normalize()) return false;
  if (!skipToContent()) return false;
  if (!skipDocumentStart()) return false;
  if (atEnd()) return failAt(1, "the document is empty");
  if (atDocumentMarker()) {
    if (peek() == '-') return fail("several documents ('---') are not supported");
    return failAt(1, "the document is empty");
  }
  if (!parseBlockNode(column(), 0, root)) return false;
  return finishDocument();
}

// Before the top-level value: refuses a directive, and skips a `---` line.
bool Parser::skipDocumentStart() {
  if (!atEnd() && column() == 0 && peek() == '%') {
    return fail("directives ('%') are not supported");
  }
  if (!atDocumentMarker()) return true;
  if (peek() == '.') return failAt(1, "the document is empty");
  return skipMarkerLine("content on the '---' line is not supported; start it on the next line");
}

// After the top-level value: the end, or a `...` line and then the end.
bool Parser::finishDocument() {
  if (atEnd()) return true;
  if (!atDocumentMarker()) {
    return fail("unexpected content after the document's top-level value (check its indentation)");
  }
  if (peek() == '-') return fail("several documents ('---') are not supported");
  if (!skipMarkerLine("content after the document end marker '...'")) return false;
  if (!atEnd())
    return fail(
        "content after the document end marker '...' (several documents are not supported)");
  return true;
}

// At a `---` or `...` marker: only a comment may follow it on its line
// (else fails with `problem`). Leaves the position at the next content.
bool Parser::skipMarkerLine(const char* problem) {
  advance(3);
  skipInlineSpace();
  if (!atEnd() && peek() != '\n' && peek() != '#') return fail(problem);
  skipToLineEnd();
  if (!atEnd()) newline();
  return skipToContent();
}

// At content at column `indent` (possibly mid-line, after "- ").
bool Parser::parseBlockNode(int indent, int depth, YamlNode* out) {
  if (!checkDepth(depth)) return false;
  out->line = line();
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
  const size_t after = offset();
  skipInlineSpace();
  if (peek() == ':' && blankOrEnd(1))
    return parseBlockMapping(indent, depth, std::move(first), out);
  rewindTo(after);
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
    advance();  // ':'
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
  out->line = line();
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
      out->line = line();
      return parseBlockSequence(next, depth, out);
    }
    return true;  // null
  }
  if (!checkDepth(depth)) return false;
  const char c = peek();
  if (atSequenceEntry())
    return fail("a sequence cannot start on its key's line; start it on the next line");
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
  out->line = line();
  while (true) {
    advance();  // '-'
    YamlNode item;
    item.line = line();
    const size_t before = offset();
    skipInlineSpace();
    if (atEnd() || peek() == '\n' || peek() == '#') {
      skipToLineEnd();
      if (!atEnd()) newline();
      if (!skipToContent()) return false;
      if (!atEnd() && !atDocumentMarker() && column() > indent) {
        if (!parseBlockNode(column(), depth + 1, &item)) return false;
      }
    } else {
      if (tabSince(before))
        return fail("tab character in indentation (YAML indents with spaces only)");
      if (!parseBlockNode(column(), depth + 1, &item)) return false;
    }
    out->children.push_back(std::move(item));

    if (atEnd() || atDocumentMarker()) break;
    const int next = column();
    if (next < indent) break;
    if (next > indent)
      return fail("unexpected indentation (deeper than the sequence item above it)");
    if (!atSequenceEntry()) break;  // e.g. the next key of the mapping holding this sequence
  }
  return true;
}

bool Parser::parseFlowNode(int depth, YamlNode* out) {
  if (!checkDepth(depth)) return false;
  out->line = line();
  const char c = peek();
  if (c == '[') return parseFlowSequence(depth, out);
  if (c == '{') return parseFlowMapping(depth, out);
  if ((c == '-' || c == '?') && (blankOrEnd(1) || isFlowIndicator(peek(1)))) {
    return fail("unexpected " + describeChar(c) + " in a flow collection");
  }
  return parseScalar(true, out);
}

bool Parser::parseFlowSequence(int depth, YamlNode* out) {
  const int open_line = line();
  out->kind = YamlNode::Kind::kSequence;
  advance();  // '['
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
      advance();
      continue;
    }
    if (peek() == ']') break;
    if (peek() == ':') return fail("'key: value' pairs inside a flow sequence are not supported");
    return fail("expected ',' or ']' in a flow sequence, found " + describeChar(peek()));
  }
  advance();  // ']'
  return true;
}

bool Parser::parseFlowMapping(int depth, YamlNode* out) {
  const int open_line = line();
  out->kind = YamlNode::Kind::kMap;
  advance();  // '{'
  while (true) {
    if (!skipFlowSpace()) return false;
    if (atEnd()) return failAt(open_line, "unterminated flow mapping: '{' is never closed");
    if (peek() == '}') break;
    if (!parseFlowMappingEntry(depth, open_line, out)) return false;
    if (!skipFlowSpace()) return false;
    if (atEnd()) return failAt(open_line, "unterminated flow mapping: '{' is never closed");
    if (peek() == ',') {
      advance();
      continue;
    }
    if (peek() == '}') break;
    return fail("expected ',' or '}' in a flow mapping, found " + describeChar(peek()));
  }
  advance();  // '}'
  return checkDuplicateKeys(*out);
}

// One `key: value` (or `key:`, a null) of the flow mapping `map` opened on
// `open_line`, appended to its children.
bool Parser::parseFlowMappingEntry(int depth, int open_line, YamlNode* map) {
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
  advance();  // ':'
  YamlNode value;
  value.key = std::move(key.value);
  value.key_line = key.line;
  value.line = line();
  if (!skipFlowSpace()) return false;
  if (atEnd()) return failAt(open_line, "unterminated flow mapping: '{' is never closed");
  if (peek() != ',' && peek() != '}') {
    if (!parseFlowNode(depth + 1, &value)) return false;
  }
  map->children.push_back(std::move(value));
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
