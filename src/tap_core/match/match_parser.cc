#include "tap_core/match/match_parser.h"

#include <cstring>
#include <vector>

#include "tap_core/match/match_keywords.h"
#include "tap_core/match/match_lexer.h"
#include "tap_core/match/match_value.h"

namespace tapshim::core::match {
namespace {

std::string quoted(std::string_view text) {
  constexpr size_t kShown = 40;
  std::string result = "`";
  result.append(text.substr(0, kShown));
  if (text.size() > kShown) result += "...";
  result += '`';
  return result;
}

// What a VALUE means: the qualifiers of the primitive it belongs to.
struct Qualifier {
  enum class Proto : uint8_t { kNone, kTcp, kIp, kIp6 };
  enum class Type : uint8_t { kNone, kHost, kNet, kPort, kPortRange, kProc };
  Proto proto = Proto::kNone;
  Side side = Side::kEither;
  Type type = Type::kNone;  // kNone: no qualifier in force (no shorthand)
};

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, Program* program, std::string* error)
      : tokens_(tokens), program_(program), error_(error) {}

  bool parse() {
    if (peek().kind == Token::Kind::kEnd) return fail("empty expression", peek());
    if (!parseExpression(0)) return false;
    const Token& next = peek();
    if (next.kind == Token::Kind::kEnd) return true;
    if (next.kind == Token::Kind::kClose) return fail("unmatched `)`", next);
    return fail(unexpected(next, "`and`, `or` or the end"), next);
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    const size_t at = position_ + ahead;
    return at < tokens_.size() ? tokens_[at] : tokens_.back();
  }
  const Token& take() {
    const Token& token = peek();
    if (position_ + 1 < tokens_.size()) ++position_;
    return token;
  }

  // "unexpected `X` (expected ...)", with a hint for upper-case keywords.
  static std::string unexpected(const Token& token, const char* expected) {
    std::string text = "unexpected " + quoted(token.text) + " (expected " + expected;
    if (token.kind == Token::Kind::kWord && isUpperCaseKeyword(token.text)) {
      text += "; keywords are lower case";
    }
    return text + ")";
  }

  bool fail(const std::string& problem, const Token& at) {
    *error_ = problem + " at offset " + std::to_string(at.offset);
    return false;
  }

  void emit(Op::Code code) {
    Op op;
    op.code = code;
    program_->ops.push_back(op);
  }

  bool emitTerm(const Term& term, const Token& at) {
    if (program_->terms.size() >= Program::kMaxTerms) return fail("too many terms", at);
    Op op;
    op.code = Op::Code::kTerm;
    op.term = static_cast<uint16_t>(program_->terms.size());
    program_->terms.push_back(term);
    program_->ops.push_back(op);
    switch (term.kind) {
      case Term::Kind::kTls:
        program_->uses_tls = true;
        break;
      case Term::Kind::kUnix:
        program_->names_unix = true;
        break;
      case Term::Kind::kAddress:
      case Term::Kind::kPortRange:
      case Term::Kind::kTcp:
      case Term::Kind::kIp:
      case Term::Kind::kIp6:
        program_->uses_addresses = true;
        break;
      default:
        break;
    }
    return true;
  }

  bool emitSimple(Term::Kind kind, const Token& at) {
    Term term;
    term.kind = kind;
    qualifier_ = Qualifier();
    return emitTerm(term, at);
  }

  // expression := unary { and|or unary }, left to right.
  bool parseExpression(int depth) {
    if (!parseUnary(depth, nullptr)) return false;
    while (peek().kind == Token::Kind::kAnd || peek().kind == Token::Kind::kOr) {
      const Token& op = take();
      if (!parseUnary(depth, &op)) return false;
      emit(op.kind == Token::Kind::kAnd ? Op::Code::kAnd : Op::Code::kOr);
    }
    return true;
  }

  // unary := { not } primary. `after` is the operator before it, if any.
  bool parseUnary(int depth, const Token* after) {
    size_t nots = 0;
    const Token* last_not = nullptr;
    while (peek().kind == Token::Kind::kNot) {
      last_not = &take();
      ++nots;
    }
    if (last_not != nullptr) after = last_not;
    if (!parsePrimary(depth, after)) return false;
    if (nots % 2 == 1) emit(Op::Code::kNot);  // not not x is x, also when x is undecided
    return true;
  }

  bool missingTerm(const Token* after, const Token& at) {
    std::string problem = "expected a term";
    if (after != nullptr) problem += " after " + quoted(after->text);
    if (at.kind == Token::Kind::kClose || at.kind == Token::Kind::kAnd ||
        at.kind == Token::Kind::kOr) {
      problem += ", found " + quoted(at.text);
    } else if (at.kind == Token::Kind::kEnd) {
      problem += ", found the end";
    }
    return fail(problem, at);
  }

  bool parsePrimary(int depth, const Token* after) {
    const Token& token = peek();
    switch (token.kind) {
      case Token::Kind::kOpen: {
        if (depth >= Program::kMaxNesting) {
          return fail("parentheses nested deeper than " + std::to_string(Program::kMaxNesting),
                      token);
        }
        take();
        const Qualifier before = qualifier_;
        if (peek().kind == Token::Kind::kClose) return fail("empty parentheses", token);
        if (!parseExpression(depth + 1)) return false;
        const Token& close = peek();
        if (close.kind == Token::Kind::kEnd) return fail("unmatched `(`", token);
        if (close.kind != Token::Kind::kClose) {
          return fail(unexpected(close, "`and`, `or` or `)`"), close);
        }
        take();
        qualifier_ = before;
        return true;
      }
      case Token::Kind::kWord:
      case Token::Kind::kQuoted:
        return parsePrimitive();
      default:
        return missingTerm(after, token);
    }
  }

  bool parsePrimitive() {
    const Token& token = peek();
    const Keyword keyword =
        token.kind == Token::Kind::kQuoted ? Keyword::kNone : keywordOf(token.text);
    switch (keyword) {
      case Keyword::kTcp:
      case Keyword::kIp:
      case Keyword::kIp6:
        return parseProto(keyword);
      case Keyword::kSrc:
      case Keyword::kDst:
      case Keyword::kHost:
      case Keyword::kNet:
      case Keyword::kPort:
      case Keyword::kPortRange:
        return parseQualified(Qualifier());
      case Keyword::kUnix:
        take();
        return emitSimple(Term::Kind::kUnix, token);
      case Keyword::kInbound:
        take();
        return emitSimple(Term::Kind::kInbound, token);
      case Keyword::kOutbound:
        take();
        return emitSimple(Term::Kind::kOutbound, token);
      case Keyword::kTls:
        take();
        return emitSimple(Term::Kind::kTls, token);
      case Keyword::kProc: {
        take();
        Qualifier qualifier;
        qualifier.type = Qualifier::Type::kProc;
        return parseValue(qualifier, token);
      }
      case Keyword::kMask:
        return fail("`mask` must follow `net ADDRESS`", token);
      case Keyword::kNone:
        break;
    }
    return parseShorthand(token);
  }

  // tcp, ip or ip6 (`keyword`): a term of its own, or the proto of the
  // qualified primitive after it.
  bool parseProto(Keyword keyword) {
    const Token& token = take();
    const Qualifier::Proto proto = keyword == Keyword::kTcp  ? Qualifier::Proto::kTcp
                                   : keyword == Keyword::kIp ? Qualifier::Proto::kIp
                                                             : Qualifier::Proto::kIp6;
    const Keyword next =
        peek().kind == Token::Kind::kWord ? keywordOf(peek().text) : Keyword::kNone;
    if (next == Keyword::kSrc || next == Keyword::kDst || next == Keyword::kHost ||
        next == Keyword::kNet || next == Keyword::kPort || next == Keyword::kPortRange) {
      Qualifier qualifier;
      qualifier.proto = proto;
      return parseQualified(qualifier);  // `tcp port 80`: tcp and port 80
    }
    return emitSimple(protoKind(proto), token);
  }

  // A word that is no keyword of ours, or a quoted word: a value under the
  // qualifiers in force (shorthand), or a mistake.
  bool parseShorthand(const Token& token) {
    if (token.kind == Token::Kind::kWord) {
      if (isPcapOnlyKeyword(token.text)) {
        return fail(quoted(token.text) +
                        " is a pcap-filter keyword that does not apply to a TCP connection",
                    token);
      }
      if (isUpperCaseKeyword(token.text)) {
        return fail("unknown keyword " + quoted(token.text) + " (keywords are lower case)", token);
      }
    }
    if (!looksLikeValue(token, qualifier_.type)) {
      return fail("unknown keyword " + quoted(token.text), token);
    }
    if (qualifier_.type == Qualifier::Type::kNone) {
      return fail(
          quoted(token.text) + " needs a keyword before it (host, net, port, portrange or proc)",
          token);
    }
    // Shorthand: the most recent qualifiers apply.
    return parseValue(qualifier_, token);
  }

  // Shorthand takes a word that looks like a value of the type in force
  // (any word for proc; an address when none is in force); anything else
  // is taken for a mistyped keyword.
  static bool looksLikeValue(const Token& token, Qualifier::Type type) {
    if (token.kind == Token::Kind::kQuoted) return true;
    const char first = token.text.empty() ? '\0' : token.text[0];
    const bool digit = first >= '0' && first <= '9';
    const bool address_like = digit || token.text.find(':') != std::string_view::npos ||
                              token.text.find('.') != std::string_view::npos;
    switch (type) {
      case Qualifier::Type::kNone:
      case Qualifier::Type::kHost:
      case Qualifier::Type::kNet:
        return address_like;
      case Qualifier::Type::kPort:
      case Qualifier::Type::kPortRange:
        return digit;
      case Qualifier::Type::kProc:
        return true;
    }
    return false;
  }

  static Term::Kind protoKind(Qualifier::Proto proto) {
    return proto == Qualifier::Proto::kIp    ? Term::Kind::kIp
           : proto == Qualifier::Proto::kIp6 ? Term::Kind::kIp6
                                             : Term::Kind::kTcp;
  }

  // [dir] [type] VALUE, after an optional proto (already in `qualifier`).
  bool parseQualified(Qualifier qualifier) {
    const Token& first = peek();
    Keyword keyword = keywordOf(first.text);
    if (keyword == Keyword::kSrc || keyword == Keyword::kDst) {
      take();
      qualifier.side = keyword == Keyword::kSrc ? Side::kSrc : Side::kDst;
      const Token& op = peek();
      const Keyword other =
          peek(1).kind == Token::Kind::kWord ? keywordOf(peek(1).text) : Keyword::kNone;
      if ((op.kind == Token::Kind::kAnd || op.kind == Token::Kind::kOr) &&
          (other == Keyword::kSrc || other == Keyword::kDst) && other != keyword) {
        take();
        take();
        qualifier.side = op.kind == Token::Kind::kAnd ? Side::kBoth : Side::kEither;
      }
      keyword = peek().kind == Token::Kind::kWord ? keywordOf(peek().text) : Keyword::kNone;
      if (keyword != Keyword::kHost && keyword != Keyword::kNet && keyword != Keyword::kPort &&
          keyword != Keyword::kPortRange) {
        if (keyword != Keyword::kNone) {
          return fail(
              "`src` and `dst` qualify host, net, port or portrange, not " + quoted(peek().text),
              peek());
        }
        qualifier.type = Qualifier::Type::kHost;  // as pcap-filter: `src ADDR` is a host
        return parseValue(qualifier, first);
      }
    }
    const Token& type = take();
    qualifier.type = keyword == Keyword::kHost   ? Qualifier::Type::kHost
                     : keyword == Keyword::kNet  ? Qualifier::Type::kNet
                     : keyword == Keyword::kPort ? Qualifier::Type::kPort
                                                 : Qualifier::Type::kPortRange;
    return parseValue(qualifier, type);
  }

  // VALUE for `qualifier`; `owner` is the keyword it belongs to (or, for
  // shorthand, the value itself), for messages.
  bool parseValue(const Qualifier& qualifier, const Token& owner) {
    const Token& value = peek();
    if (value.kind != Token::Kind::kWord && value.kind != Token::Kind::kQuoted) {
      return fail(quoted(owner.text) + " needs a value", value);
    }
    take();
    Term term;
    term.side = qualifier.side;
    if (!parseValueAs(qualifier.type, value, &term)) return false;
    if (!checkAddressFamily(qualifier.proto, term, value)) return false;
    if (qualifier.proto != Qualifier::Proto::kNone) {
      Term proto;
      proto.kind = protoKind(qualifier.proto);
      if (!emitTerm(proto, owner) || !emitTerm(term, value)) return false;
      emit(Op::Code::kAnd);
    } else if (!emitTerm(term, value)) {
      return false;
    }
    qualifier_ = qualifier;
    return true;
  }

  // Fills `term` from `value` read as a `type`; for net, also takes a
  // `mask MASK` after it.
  bool parseValueAs(Qualifier::Type type, const Token& value, Term* term) {
    std::string problem;
    bool ok = true;
    switch (type) {
      case Qualifier::Type::kProc:
        return parseProcessName(value, term);
      case Qualifier::Type::kHost:
        term->kind = Term::Kind::kAddress;
        ok = parseHost(value.text, &term->pattern, &problem);
        break;
      case Qualifier::Type::kNet:
        term->kind = Term::Kind::kAddress;
        if (peek().kind == Token::Kind::kWord && keywordOf(peek().text) == Keyword::kMask) {
          take();
          const Token& mask = peek();
          if (mask.kind != Token::Kind::kWord && mask.kind != Token::Kind::kQuoted) {
            return fail("`mask` needs a value", mask);
          }
          take();
          ok = parseNetMask(value.text, mask.text, &term->pattern, &problem);
        } else {
          ok = parseNet(value.text, &term->pattern, &problem);
        }
        break;
      case Qualifier::Type::kPort:
        term->kind = Term::Kind::kPortRange;
        ok = parsePort(value.text, &term->first_port, &problem);
        term->last_port = term->first_port;
        break;
      case Qualifier::Type::kPortRange:
        term->kind = Term::Kind::kPortRange;
        ok = parsePortRange(value.text, &term->first_port, &term->last_port, &problem);
        break;
      case Qualifier::Type::kNone:
        return fail("internal: value without a qualifier", value);
    }
    if (!ok) return fail(problem, value);
    return true;
  }

  // `proc NAME`: refused when it can never match a program's name.
  bool parseProcessName(const Token& value, Term* term) {
    if (value.text.empty()) return fail("empty process name", value);
    if (value.text.size() > Term::kMaxProcessName) {
      return fail("process name " + quoted(value.text) +
                      " is longer than 15 characters and can never match (the kernel "
                      "keeps the first 15 of a program's name: " +
                      quoted(value.text.substr(0, Term::kMaxProcessName)) + ")",
                  value);
    }
    term->kind = Term::Kind::kProc;
    term->name_length = static_cast<uint8_t>(value.text.size());
    std::memcpy(term->name, value.text.data(), value.text.size());
    return true;
  }

  // `ip ADDR` with an IPv6 address, or `ip6 ADDR` with an IPv4 one, would
  // never match: refused.
  bool checkAddressFamily(Qualifier::Proto proto, const Term& term, const Token& value) {
    if (term.kind != Term::Kind::kAddress || proto == Qualifier::Proto::kNone ||
        proto == Qualifier::Proto::kTcp) {
      return true;
    }
    const bool wants_v4 = proto == Qualifier::Proto::kIp;
    if (wants_v4 == (term.pattern.version == AddressPattern::kV4)) return true;
    return fail(std::string(wants_v4 ? "`ip` with an IPv6 address" : "`ip6` with an IPv4 address") +
                    " never matches",
                value);
  }

  const std::vector<Token>& tokens_;
  size_t position_ = 0;
  Program* program_;
  std::string* error_;
  Qualifier qualifier_;  // in force for shorthand values
};

}  // namespace

bool parseProgram(std::string_view text, Program* program, std::string* error) {
  *program = Program();
  std::vector<Token> tokens;
  if (!tokenize(text, &tokens, error)) return false;
  return Parser(tokens, program, error).parse();
}

}  // namespace tapshim::core::match
