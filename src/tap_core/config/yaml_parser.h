// A small YAML parser for the subset Envoy configurations use; JSON is
// parsed as YAML flow style. No exceptions, no iostream: errors are values.
//
// Supported:
//   - one document, optionally starting with `---` (and ending with `...`)
//   - block mappings and block sequences by indentation (spaces), including
//     a sequence at its key's indentation and compact `- key: value` items
//   - flow mappings `{a: 1, "b": [x, y]}` and flow sequences, across lines
//     (tabs allowed there, so tab-indented JSON works), trailing commas
//   - plain, 'single-quoted' ('' escapes a quote) and "double-quoted"
//     scalars with YAML's escapes (\n \t \" \\ \/ \0 \a \b \e \f \r \v \N \_
//     \L \P, \xXX, \uXXXX with JSON surrogate pairs, \UXXXXXXXX)
//   - comments (`#` at a line's start or after whitespace), CRLF line ends,
//     a UTF-8 byte order mark
// Refused, each with the line number: anchors and aliases (& *), tags (!),
// several documents, directives (%), tabs in block indentation, duplicate
// keys, block scalars (| >), explicit (?) and complex keys, multi-line plain
// or quoted scalars, flow entries without ':', control characters, nesting
// deeper than kMaxYamlDepth.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tap_core/config/yaml_node.h"

namespace tapshim::core {

inline constexpr int kMaxYamlDepth = 64;

struct YamlError {
  int line = 0;         // 1-based
  std::string message;  // one line, no trailing period
};

// Parses `text`. On failure returns nullopt and fills `*error`.
std::optional<YamlNode> parseYaml(std::string_view text, YamlError* error);

// `text` in single quotes for an error message: control and non-ASCII bytes
// escaped as \xNN, cut to about 120 characters, so a message stays one line.
std::string quoteForMessage(std::string_view text);

}  // namespace tapshim::core
