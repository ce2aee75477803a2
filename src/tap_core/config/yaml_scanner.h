// The character level of the YAML parser (yaml_parser.cc): a cursor over
// the text that keeps the line and column, skips whitespace, comments and
// blank lines, reads scalars (plain, single- and double-quoted, with their
// escapes) and records the first error. The parser built on it reads the
// document's structure: block and flow mappings and sequences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "tap_core/config/yaml_node.h"
#include "tap_core/config/yaml_parser.h"

namespace tapshim::core {

class YamlScanner {
 public:
  explicit YamlScanner(std::string text) : text_(std::move(text)) {}

  const YamlError& error() const { return error_; }

  static bool isFlowIndicator(char c) {
    return c == ',' || c == '[' || c == ']' || c == '{' || c == '}';
  }
  // 'c' when printable, else "byte 0xNN", for error messages.
  static std::string describeChar(char c);

  // --- position -----------------------------------------------------------
  bool atEnd() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool blankOrEnd(size_t ahead) const {
    return pos_ + ahead >= text_.size() || isBlank(text_[pos_ + ahead]) ||
           text_[pos_ + ahead] == '\n';
  }
  int line() const { return line_; }
  int column() const { return static_cast<int>(pos_ - line_start_); }
  // The position in the text, to come back to with rewindTo() (same line).
  size_t offset() const { return pos_; }
  void rewindTo(size_t offset) { pos_ = offset; }
  void advance(size_t count = 1) { pos_ += count; }  // over characters on this line
  void newline() {                                   // at '\n'
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
  bool atSequenceEntry() const { return peek() == '-' && blankOrEnd(1); }
  bool atDocumentMarker() const {
    if (column() != 0 || text_.size() - pos_ < 3) return false;
    const std::string_view head(text_.data() + pos_, 3);
    return (head == "---" || head == "...") && blankOrEnd(3);
  }
  // Whether a tab lies between `start` and the position.
  bool tabSince(size_t start) const {
    for (size_t i = start; i < pos_; ++i) {
      if (text_[i] == '\t') return true;
    }
    return false;
  }

  // --- errors ---------------------------------------------------------------
  // Both return false, so that `return fail(...)` ends a parse step; only
  // the first error is kept.
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

  // --- scalars --------------------------------------------------------------
  bool parseScalar(bool flow, YamlNode* out);

 private:
  static bool isBlank(char c) { return c == ' ' || c == '\t'; }
  bool afterBlank() const { return pos_ == line_start_ || isBlank(text_[pos_ - 1]); }

  bool parsePlainScalar(bool flow, YamlNode* out);
  bool parseDoubleQuoted(YamlNode* out);
  bool parseSingleQuoted(YamlNode* out);
  bool parseEscape(std::string* out);
  bool parseCodePointEscape(char letter, int digits, std::string* out);
  bool readHexDigits(char letter, int count, uint32_t* code);

  std::string text_;
  size_t pos_ = 0;
  size_t line_start_ = 0;
  int line_ = 1;
  bool failed_ = false;
  YamlError error_;
};

}  // namespace tapshim::core
