// A parsed YAML (or JSON) document: a tree of mappings, sequences and
// scalars, with the line each node came from for error messages.
//
// Scalars are kept as text: whether `1024` is a number, `true` a bool or
// `"1024"` a string is decided by whoever reads the field (the Envoy config
// mapper), as protobuf's JSON parser does. `quoted` tells the two apart.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tapshim::core {

struct YamlNode {
  enum class Kind : unsigned char {
    kNull,      // an empty value, `~`, `null`, `Null`, `NULL`
    kScalar,    // plain or quoted text in `value`
    kMap,       // `children`, each with its `key`, in document order
    kSequence,  // `children`, in order
  };

  Kind kind = Kind::kNull;
  bool quoted = false;  // kScalar only: came from '...' or "..."
  int line = 0;         // 1-based line where the node's content starts
  int key_line = 0;     // for a mapping's child: the line of its key; else 0
  std::string key;      // for a mapping's child: its key
  std::string value;    // kScalar (and the text of a plain null)
  std::vector<YamlNode> children;

  bool isNull() const { return kind == Kind::kNull; }
  bool isScalar() const { return kind == Kind::kScalar; }
  bool isMap() const { return kind == Kind::kMap; }
  bool isSequence() const { return kind == Kind::kSequence; }

  // The line to blame for this node: its key's line if it has one.
  int reportLine() const { return key_line > 0 ? key_line : line; }

  // A mapping's child with exactly this key, or nullptr.
  const YamlNode* find(std::string_view name) const {
    if (kind != Kind::kMap) return nullptr;
    for (const YamlNode& child : children) {
      if (child.key == name) return &child;
    }
    return nullptr;
  }
};

}  // namespace tapshim::core
