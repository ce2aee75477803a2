#include "tap_core/config/envoy_fields.h"

#include <vector>

#include "tap_core/config/yaml_parser.h"

namespace tapshim::core {
namespace {

// protobuf's json_name: snake_case to lowerCamelCase.
std::string camelCase(std::string_view snake) {
  std::string camel;
  bool upper = false;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
      continue;
    }
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    upper = false;
    camel.push_back(c);
  }
  return camel;
}

std::string listNames(EnvoyFieldReader::Names names) {
  std::string text;
  for (std::string_view name : names) {
    if (!text.empty()) text += ", ";
    text += name;
  }
  return text;
}

// The syntax of parseWholeNumber's numbers: `text` as its digits (integer
// and fraction, in `*digits`) times ten to `*exponent`. False when `text`
// is not a number.
bool readDecimal(std::string_view text, std::string* digits, int64_t* exponent) {
  size_t i = 0;
  size_t int_digits = 0, frac_digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9')
    digits->push_back(text[i++]), ++int_digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      digits->push_back(text[i++]), ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  *exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    if (i == text.size()) return false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (*exponent < 1000000) *exponent = *exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (negative) *exponent = -*exponent;
  }
  if (i != text.size()) return false;
  *exponent -= static_cast<int64_t>(frac_digits);
  return true;
}

// `digits` (no leading zeros) times ten to `exponent` (>= 0) into `*value`,
// unless that exceeds `limit`.
bool scaleWithin(std::string_view digits, int64_t exponent, uint64_t limit, uint64_t* value) {
  uint64_t result = 0;
  auto push = [&](int digit) {
    const auto d = static_cast<uint64_t>(digit);
    if (d > limit || result > (limit - d) / 10) return false;
    result = result * 10 + static_cast<uint64_t>(digit);
    return true;
  };
  for (char c : digits) {
    if (!push(c - '0')) return false;
  }
  for (int64_t e = 0; e < exponent; ++e) {
    if (!push(0)) return false;
  }
  *value = result;
  return true;
}

}  // namespace

bool EnvoyFieldReader::sameField(std::string_view key, std::string_view snake) {
  return key == snake || key == camelCase(snake);
}

std::string EnvoyFieldReader::join(const std::string& path, std::string_view key) {
  bool plain = !key.empty() && key.size() <= 60;
  for (char c : key) {
    const bool name_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '@' || c == '-';
    if (!name_char) plain = false;
  }
  const std::string part = plain ? std::string(key) : quoteForMessage(key);
  if (path.empty()) return part;
  return path + "." + part;
}

std::string EnvoyFieldReader::parseWholeNumber(std::string_view text, uint64_t limit,
                                               uint64_t* value) {
  if (!text.empty() && text[0] == '-') return "must not be negative";
  std::string digits;
  int64_t exponent = 0;
  if (!readDecimal(text, &digits, &exponent)) return "is not a number";
  // Drop the zeros that do not change the value.
  while (exponent < 0 && !digits.empty() && digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  size_t first = 0;
  while (first < digits.size() && digits[first] == '0') ++first;
  digits.erase(0, first);
  if (digits.empty()) {
    *value = 0;
    return {};
  }
  if (exponent < 0) return "must be a whole number";
  if (static_cast<int64_t>(digits.size()) + exponent > 20 ||
      !scaleWithin(digits, exponent, limit, value)) {
    return "is out of range (0 to " + std::to_string(limit) + ")";
  }
  return {};
}

// `node` must be a mapping whose keys are all in `names` (either spelling),
// each given once.
bool EnvoyFieldReader::expectFields(const YamlNode& node, const std::string& path, Names names) {
  if (!node.isMap()) return fail(node, path, "expected a mapping of fields ({...})");
  std::vector<const YamlNode*> seen(names.size(), nullptr);
  for (const YamlNode& child : node.children) {
    size_t index = 0;
    for (std::string_view name : names) {
      if (sameField(child.key, name)) break;
      ++index;
    }
    if (index == names.size()) {
      return fail(child, join(path, child.key),
                  "unknown field (Envoy rejects unknown fields; expected one of: " +
                      listNames(names) + ")");
    }
    if (seen[index] != nullptr) {
      return fail(child, join(path, child.key),
                  "field given twice (as " + quoteForMessage(seen[index]->key) + " and " +
                      quoteForMessage(child.key) + ")");
    }
    seen[index] = &child;
  }
  return true;
}

// The child named `snake` (or its lowerCamelCase form), or nullptr when it
// is absent or null (protobuf's JSON parser treats null as unset).
const YamlNode* EnvoyFieldReader::field(const YamlNode& node, std::string_view snake) {
  for (const YamlNode& child : node.children) {
    if (sameField(child.key, snake)) return child.isNull() ? nullptr : &child;
  }
  return nullptr;
}

// For a oneof: the one set field among `names`, nullptr if none (ok stays
// true), or an error if several are set.
const YamlNode* EnvoyFieldReader::only(const YamlNode& node, const std::string& path, Names names,
                                       std::string_view what, bool* ok) {
  const YamlNode* found = nullptr;
  for (const YamlNode& child_node : node.children) {  // document order
    if (child_node.isNull()) continue;
    bool listed = false;
    for (std::string_view name : names) listed = listed || sameField(child_node.key, name);
    if (!listed) continue;
    const YamlNode* child = &child_node;
    if (found != nullptr) {
      *ok = fail(*child, path,
                 "sets both " + quoteForMessage(found->key) + " and " +
                     quoteForMessage(child->key) + "; " + std::string(what) + " takes exactly one");
      return nullptr;
    }
    found = child;
  }
  *ok = true;
  return found;
}

// An Any's "@type": `<anything>/<expected>`.
bool EnvoyFieldReader::checkType(const YamlNode& node, const std::string& path,
                                 std::string_view expected) {
  if (!node.isScalar()) return fail(node, path, "expected a type URL");
  const std::string_view url = node.value;
  const size_t slash = url.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || url.substr(slash + 1) != expected) {
    return fail(node, path,
                quoteForMessage(url) + " is not type.googleapis.com/" + std::string(expected));
  }
  return true;
}

bool EnvoyFieldReader::readString(const YamlNode& node, const std::string& path, std::string* out) {
  if (!node.isScalar()) return fail(node, path, "expected a string");
  if (node.value.find('\0') != std::string::npos)
    return fail(node, path, "contains a NUL character");
  *out = node.value;
  return true;
}

// YAML's booleans as Envoy reads them (yaml-cpp: true/false, yes/no, on/off,
// y/n, in lower, Capitalised or UPPER case); JSON's true/false.
bool EnvoyFieldReader::readBool(const YamlNode& node, const std::string& path, bool* out) {
  if (node.isScalar()) {
    static constexpr std::string_view kTrue[] = {"true", "yes", "on", "y"};
    static constexpr std::string_view kFalse[] = {"false", "no", "off", "n"};
    const std::string& v = node.value;
    auto matches = [&](std::string_view word) {
      if (v == word) return true;
      if (v.size() != word.size() || v.empty()) return false;
      std::string capital(word), upper(word);
      capital[0] = static_cast<char>(capital[0] - 'a' + 'A');
      for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
      return v == capital || v == upper;
    };
    for (std::string_view word : kTrue) {
      if (matches(word)) return *out = true, true;
    }
    for (std::string_view word : kFalse) {
      if (matches(word)) return *out = false, true;
    }
  }
  return fail(
      node, path,
      (node.isScalar() ? quoteForMessage(node.value) + " is not" : std::string("expected")) +
          " true or false");
}

// A UInt32Value: the number itself (quoted or not, as protobuf's JSON).
bool EnvoyFieldReader::readUint32(const YamlNode& node, const std::string& path,
                                  std::optional<uint32_t>* out) {
  if (node.isMap()) {
    return fail(node, path,
                "expected a number: a UInt32Value is written as the number itself (e.g. 1024), "
                "as Envoy requires");
  }
  if (!node.isScalar()) return fail(node, path, "expected a number");
  uint64_t value = 0;
  const std::string problem = parseWholeNumber(node.value, UINT32_MAX, &value);
  if (!problem.empty()) return fail(node, path, quoteForMessage(node.value) + " " + problem);
  *out = static_cast<uint32_t>(value);
  return true;
}

}  // namespace tapshim::core
