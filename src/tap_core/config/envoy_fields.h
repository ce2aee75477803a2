// How Envoy's config loader reads a protobuf message's fields from YAML,
// for the TAP_CONFIG mapper (envoy_tap_config.cc): field names in
// snake_case or lowerCamelCase, unknown and repeated fields refused, null as
// unset, oneofs, an Any's type URL, and scalars as protobuf's JSON parser
// takes them (bools also as yaml-cpp spells them; whole numbers also as
// "1024", 1024.0 or 1e3).
//
// Errors are one line, `<source>:<line>: <field path>: <problem>`, stored
// in the caller's string; each check that fails sets it and returns false.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "tap_core/config/yaml_node.h"

namespace tapshim::core {

class EnvoyFieldReader {
 public:
  using Names = std::initializer_list<std::string_view>;

  // `source` names the text in messages; `error` may be null.
  EnvoyFieldReader(std::string_view source, std::string* error) : source_(source), error_(error) {}

  // Whether `key` is the field `snake`, in either spelling.
  static bool sameField(std::string_view key, std::string_view snake);
  // `path` with the field `key` appended: the key as written when it is a
  // plain name, quoted (and escaped) otherwise, so that a message stays on
  // one line.
  static std::string join(const std::string& path, std::string_view key);
  // A decimal number that must be a whole number in [0, limit]: digits, an
  // optional fraction and exponent (protobuf's JSON parser takes 1024.0 and
  // 1e3 for an integer field). Returns an empty string or the problem.
  static std::string parseWholeNumber(std::string_view text, uint64_t limit, uint64_t* value);

  bool fail(int line, const std::string& path, const std::string& problem) {
    if (error_ != nullptr) {
      std::string text = std::string(source_) + ":" + std::to_string(line) + ": ";
      if (!path.empty()) text += path + ": ";
      text += problem;
      *error_ = std::move(text);
    }
    return false;
  }
  bool fail(const YamlNode& node, const std::string& path, const std::string& problem) {
    return fail(node.reportLine(), path, problem);
  }

  bool expectFields(const YamlNode& node, const std::string& path, Names names);
  static const YamlNode* field(const YamlNode& node, std::string_view snake);
  const YamlNode* only(const YamlNode& node, const std::string& path, Names names,
                       std::string_view what, bool* ok);

  bool checkType(const YamlNode& node, const std::string& path, std::string_view expected);
  bool readString(const YamlNode& node, const std::string& path, std::string* out);
  bool readBool(const YamlNode& node, const std::string& path, bool* out);
  bool readUint32(const YamlNode& node, const std::string& path, std::optional<uint32_t>* out);

 private:
  std::string_view source_;
  std::string* error_;
};

}  // namespace tapshim::core
