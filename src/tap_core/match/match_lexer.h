// TAP_MATCH expressions as tokens: words, quoted words, parentheses and
// the operators and/&&, or/||, not/!. Keywords are told apart from values
// by the parser, which knows where a value is expected.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tapshim::core::match {

struct Token {
  enum class Kind : unsigned char {
    kWord,    // a run of characters up to a space, parenthesis or operator
    kQuoted,  // "..." (never a keyword; no escapes)
    kOpen,    // (
    kClose,   // )
    kAnd,     // and, &&
    kOr,      // or, ||
    kNot,     // not, !
    kEnd,     // after the last token; offset is the text's length
  };
  Kind kind = Kind::kEnd;
  std::string_view text;  // as written (a quoted word without its quotes)
  size_t offset = 0;      // of the token's first character
};

// Appends the tokens of `text` and a final kEnd to `tokens`. On a lexical
// error (a lone & or |, a control character, an unterminated quote) returns
// false with `error` set to "<problem> at offset N".
bool tokenize(std::string_view text, std::vector<Token>* tokens, std::string* error);

}  // namespace tapshim::core::match
