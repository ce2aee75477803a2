#include "tap_core/match/match_lexer.h"

namespace tapshim::core::match {
namespace {

// The C locale's isspace, without calling into the locale.
bool isSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

bool isControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && !isSpace(c)) || byte == 0x7f;
}

bool endsWord(char c) {
  return isSpace(c) || isControl(c) || c == '(' || c == ')' || c == '!' || c == '&' || c == '|' ||
         c == '"';
}

bool fail(std::string* error, const std::string& problem, size_t offset) {
  *error = problem + " at offset " + std::to_string(offset);
  return false;
}

}  // namespace

bool tokenize(std::string_view text, std::vector<Token>* tokens, std::string* error) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (isSpace(c)) {
      ++i;
      continue;
    }
    Token token;
    token.offset = i;
    if (isControl(c)) {
      const char* digits = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(c);
      const char hex[] = {'0', 'x', digits[byte >> 4], digits[byte & 15], '\0'};
      return fail(error, std::string("unexpected control character ") + hex, i);
    }
    if (c == '(' || c == ')' || c == '!') {
      token.kind = c == '('   ? Token::Kind::kOpen
                   : c == ')' ? Token::Kind::kClose
                              : Token::Kind::kNot;
      token.text = text.substr(i, 1);
      ++i;
    } else if (c == '&' || c == '|') {
      if (i + 1 >= text.size() || text[i + 1] != c) {
        return fail(error,
                    std::string("a single `") + c + "` is not an operator (use `" + c + c +
                        "` or `" + (c == '&' ? "and" : "or") + "`)",
                    i);
      }
      token.kind = c == '&' ? Token::Kind::kAnd : Token::Kind::kOr;
      token.text = text.substr(i, 2);
      i += 2;
    } else if (c == '"') {
      size_t end = i + 1;
      while (end < text.size() && text[end] != '"') {
        if (isControl(text[end]) || (isSpace(text[end]) && text[end] != ' ')) {
          return fail(error, "control character inside quotes", end);
        }
        ++end;
      }
      if (end >= text.size()) return fail(error, "unterminated quote", i);
      token.kind = Token::Kind::kQuoted;
      token.text = text.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      size_t end = i;
      while (end < text.size() && !endsWord(text[end])) ++end;
      token.text = text.substr(i, end - i);
      token.kind = token.text == "and"   ? Token::Kind::kAnd
                   : token.text == "or"  ? Token::Kind::kOr
                   : token.text == "not" ? Token::Kind::kNot
                                         : Token::Kind::kWord;
      i = end;
    }
    tokens->push_back(token);
  }
  Token end;
  end.kind = Token::Kind::kEnd;
  end.offset = text.size();
  tokens->push_back(end);
  return true;
}

}  // namespace tapshim::core::match
