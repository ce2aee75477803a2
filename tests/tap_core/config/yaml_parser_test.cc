// The YAML subset parser: what Envoy configurations use parses to the
// expected tree; everything else is refused with one line naming the line.
#include "tap_core/config/yaml_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace tapshim::core {
namespace {

YamlNode parseOk(const std::string& text) {
  YamlError error;
  auto root = parseYaml(text, &error);
  EXPECT_TRUE(root.has_value()) << "line " << error.line << ": " << error.message << "\n" << text;
  return root.value_or(YamlNode{});
}

YamlError parseError(const std::string& text) {
  YamlError error;
  auto root = parseYaml(text, &error);
  EXPECT_FALSE(root.has_value()) << text;
  EXPECT_EQ(error.message.find('\n'), std::string::npos) << error.message;
  return error;
}

void expectRefused(const std::string& text, int line, const std::string& words) {
  const YamlError error = parseError(text);
  EXPECT_EQ(error.line, line) << error.message << "\n" << text;
  EXPECT_NE(error.message.find(words), std::string::npos) << error.message << "\n" << text;
}

const YamlNode& at(const YamlNode& map, const std::string& key) {
  static const YamlNode kMissing;
  const YamlNode* child = map.find(key);
  EXPECT_NE(child, nullptr) << key;
  return child != nullptr ? *child : kMissing;
}

TEST(YamlParserTest, BlockMappingsAndSequences) {
  const YamlNode root = parseOk(
      "a:\n"
      "  b: 1\n"
      "  c:\n"
      "    - x\n"
      "    - y\n"
      "d:\n"
      "- k: v\n"
      "  l: w\n"
      "- - p\n"
      "  - q\n"
      "-\n"
      "  r\n"
      "e: last\n");
  ASSERT_TRUE(root.isMap());
  ASSERT_EQ(root.children.size(), 3u);
  EXPECT_EQ(at(at(root, "a"), "b").value, "1");
  EXPECT_FALSE(at(at(root, "a"), "b").quoted);
  const YamlNode& c = at(at(root, "a"), "c");
  ASSERT_TRUE(c.isSequence());
  ASSERT_EQ(c.children.size(), 2u);
  EXPECT_EQ(c.children[1].value, "y");
  EXPECT_EQ(c.children[1].line, 5);
  const YamlNode& d = at(root, "d");  // a sequence at its key's indentation
  ASSERT_TRUE(d.isSequence());
  ASSERT_EQ(d.children.size(), 3u);
  EXPECT_EQ(at(d.children[0], "l").value, "w");
  EXPECT_EQ(at(d.children[0], "l").key_line, 8);
  ASSERT_TRUE(d.children[1].isSequence());
  EXPECT_EQ(d.children[1].children[1].value, "q");
  EXPECT_EQ(d.children[2].value, "r");
  EXPECT_EQ(at(root, "e").value, "last");
}

TEST(YamlParserTest, ScalarOnTheLineAfterItsKeyKeepsTheKey) {  // found by the fuzzer
  const YamlNode root = parseOk("a:\n  x\nb:\n  'y'\n");
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(at(root, "a").value, "x");
  EXPECT_EQ(at(root, "a").key_line, 1);
  EXPECT_EQ(at(root, "a").line, 2);
  EXPECT_EQ(at(root, "b").value, "y");
  expectRefused("a:\n  x\na:\n  y\n", 3, "duplicate key 'a' (first on line 1)");
}

TEST(YamlParserTest, FlowCollectionsAndJson) {
  const YamlNode root =
      parseOk("a: {b: 1, \"c\":\"d\", e: [x, 'y', {f: g}], h: [], i: {}, j: [1, 2,]}\n");
  const YamlNode& a = at(root, "a");
  ASSERT_TRUE(a.isMap());
  EXPECT_EQ(at(a, "c").value, "d");
  EXPECT_TRUE(at(a, "c").quoted);
  EXPECT_EQ(at(a, "e").children.size(), 3u);
  EXPECT_EQ(at(at(a, "e").children[2], "f").value, "g");
  EXPECT_TRUE(at(a, "h").isSequence());
  EXPECT_TRUE(at(a, "i").isMap());
  EXPECT_EQ(at(a, "j").children.size(), 2u);  // trailing comma

  const YamlNode json = parseOk(
      "{\n"
      "\t\"a\": {\"b\": [1, 2.5, true, null],\n"
      "\t      \"c\": \"\\u00e9\\n\"},\n"
      "\t\"d\": false\n"
      "}\n");
  EXPECT_EQ(at(at(json, "a"), "b").children.size(), 4u);
  EXPECT_TRUE(at(at(json, "a"), "b").children[3].isNull());
  EXPECT_EQ(at(at(json, "a"), "c").value, "\xc3\xa9\n");
  EXPECT_EQ(at(json, "d").line, 4);
}

TEST(YamlParserTest, Scalars) {
  const YamlNode root = parseOk(
      "dq: \"tab\\t quote\\\" back\\\\ slash\\/ nul-free \\x41 \\u00e9 \\ud83d\\ude00 \\U0001F600 "
      "\\N\"\n"
      "sq: 'it''s # not a comment'\n"
      "plain: a plain value, a:b # a comment\n"
      "url: type.googleapis.com/x.y.Z   # comment after a value\n"
      "empty:\n"
      "tilde: ~\n"
      "nul: null\n"
      "quoted_null: 'null'\n"
      "colon: a:b\n"
      "hash: a#b\n"
      "num: -12.5e3\n");
  EXPECT_EQ(
      at(root, "dq").value,
      "tab\t quote\" back\\ slash/ nul-free A \xc3\xa9 \xf0\x9f\x98\x80 \xf0\x9f\x98\x80 \xc2\x85");
  EXPECT_EQ(at(root, "sq").value, "it's # not a comment");
  EXPECT_TRUE(at(root, "sq").quoted);
  EXPECT_EQ(at(root, "plain").value, "a plain value, a:b");
  EXPECT_EQ(at(root, "url").value, "type.googleapis.com/x.y.Z");
  EXPECT_TRUE(at(root, "empty").isNull());
  EXPECT_TRUE(at(root, "tilde").isNull());
  EXPECT_TRUE(at(root, "nul").isNull());
  EXPECT_TRUE(at(root, "quoted_null").isScalar());
  EXPECT_EQ(at(root, "colon").value, "a:b");
  EXPECT_EQ(at(root, "hash").value, "a#b");
  EXPECT_EQ(at(root, "num").value, "-12.5e3");
}

TEST(YamlParserTest, PlainTrueFalseStayText) {
  const YamlNode root = parseOk("a: true\nb: True\nc: FALSE\n");
  EXPECT_EQ(at(root, "a").value, "true");
  EXPECT_EQ(at(root, "b").value, "True");
  EXPECT_EQ(at(root, "c").value, "FALSE");
}

TEST(YamlParserTest, DocumentMarkersCommentsCrlfAndBom) {
  const YamlNode root = parseOk(
      "\xef\xbb\xbf# leading comment\r\n---  # start\r\n\r\na: 1 # one\r\n  # indented "
      "comment\r\nb: 2\r\n...\r\n# trailing\r\n");
  EXPECT_EQ(at(root, "a").value, "1");
  EXPECT_EQ(at(root, "b").value, "2");
  EXPECT_EQ(at(root, "b").key_line, 6);
}

TEST(YamlParserTest, TopLevelScalarAndSequence) {
  EXPECT_EQ(parseOk("hello\n").value, "hello");
  EXPECT_EQ(parseOk("- a\n- b\n").children.size(), 2u);
  EXPECT_EQ(parseOk("[a, b]").children.size(), 2u);
}

TEST(YamlParserTest, RefusesAnchorsAliasesAndTags) {
  expectRefused("a: &x 1\n", 1, "anchors");
  expectRefused("a: 1\nb: *x\n", 2, "aliases");
  expectRefused("a: !!str 1\n", 1, "tags");
  expectRefused("a: [1, &x 2]\n", 1, "anchors");
  expectRefused("- !tag x\n", 1, "tags");
}

TEST(YamlParserTest, RefusesSeveralDocuments) {
  expectRefused("a: 1\n---\nb: 2\n", 2, "several documents");
  expectRefused("---\na: 1\n---\n", 3, "several documents");
  expectRefused("a: 1\n...\nb: 2\n", 3, "several documents");
  expectRefused("%YAML 1.2\n---\na: 1\n", 1, "directives");
}

TEST(YamlParserTest, RefusesTabsInIndentation) {
  expectRefused("a:\n\tb: 1\n", 2, "tab");
  expectRefused("a:\n  \tb: 1\n", 2, "tab");
  expectRefused("-\tx: 1\n", 1, "tab");
  // Tabs are fine after a value, on blank lines, and inside flow collections.
  parseOk("a:\t1\n\t\nb: {c: 1,\n\td: 2}\n");
}

TEST(YamlParserTest, RefusesDuplicateKeys) {
  expectRefused("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first on line 1)");
  expectRefused("x:\n  a: 1\n  'a': 2\n", 3, "duplicate key");
  expectRefused("{a: 1, b: 2, \"b\": 3}\n", 1, "duplicate key 'b'");
}

TEST(YamlParserTest, RefusesBlockScalarsAndComplexKeys) {
  expectRefused("a: |\n  text\n", 1, "block scalars");
  expectRefused("a: >-\n  text\n", 1, "block scalars");
  expectRefused("? a\n: b\n", 1, "explicit keys");
  expectRefused("[a]: b\n", 1, "flow collection as a mapping key");
  expectRefused("{[a]: b}\n", 1, "flow collection as a mapping key");
}

TEST(YamlParserTest, RefusesUnterminatedQuotesAndCollections) {
  expectRefused("a: 1\nb: \"open\n", 2, "unterminated double-quoted");
  expectRefused("a: 'open\n", 1, "unterminated single-quoted");
  expectRefused("a: \"bad \\q escape\"\n", 1, "unknown escape");
  expectRefused("a: \"\\ud83d alone\"\n", 1, "surrogate");
  expectRefused("a: [1, 2\nb: 3\n", 2, "expected ',' or ']' in a flow sequence, found 'b'");
  expectRefused("a: [1, 2,\n  3\n", 1, "unterminated flow sequence");
  expectRefused("a: {b: 1,\n  c: 2\n", 1, "unterminated flow mapping");
  expectRefused("{a: 1} x\n", 1, "after the value");
  expectRefused("{a, b}\n", 1, "expected ':'");
}

TEST(YamlParserTest, RefusesBadStructure) {
  expectRefused("a: 1\n  b: 2\n", 2, "unexpected indentation");
  expectRefused("a: b: c\n", 1, "unexpected ':'");
  expectRefused("a: - b\n", 1, "sequence cannot start");
  expectRefused("a:\n  - 1\n  b: 2\n", 3, "unexpected indentation");
  expectRefused("a: 1\n- b\n", 2, "sequence item where a mapping key");
  expectRefused("a: 1\nplain line\n", 2, "expected 'key: value'");
  expectRefused("a: '1' x\n", 1, "after the value");
  expectRefused("a: \"1\"# no space\n", 1, "after the value");
  expectRefused("@type: x\n", 1, "cannot start a plain scalar");
  expectRefused("a: 1\r\nb: \x01\n", 2, "control character");
  expectRefused("a: 1\rb: 2\n", 1, "carriage return");
  expectRefused("", 1, "empty");
  expectRefused("# only a comment\n---\n", 1, "empty");
  expectRefused("  - a\n- b\n", 2, "unexpected content");
}

TEST(YamlParserTest, RefusesDeepNesting) {
  std::string flow(kMaxYamlDepth + 5, '[');
  flow += std::string(kMaxYamlDepth + 5, ']');
  expectRefused(flow, 1, "nesting deeper than");
  std::string block;
  for (int i = 0; i < kMaxYamlDepth + 5; ++i) block += std::string(2 * i, ' ') + "k:\n";
  block += std::string(2 * (kMaxYamlDepth + 5), ' ') + "v\n";
  EXPECT_NE(parseError(block).message.find("nesting deeper than"), std::string::npos);
  std::string dashes;
  for (int i = 0; i < kMaxYamlDepth + 5; ++i) dashes += "- ";
  dashes += "x\n";
  EXPECT_NE(parseError(dashes).message.find("nesting deeper than"), std::string::npos);
  // Just under the limit is fine.
  std::string ok(kMaxYamlDepth - 1, '[');
  ok += std::string(kMaxYamlDepth - 1, ']');
  parseOk(ok);
}

TEST(YamlParserTest, ErrorMessagesQuoteOddBytes) {
  const YamlError error = parseError("\"a\\nb\": 1\n\"a\\nb\": 2\n");
  EXPECT_EQ(error.message, "duplicate key 'a\\x0ab' (first on line 1)");
}

}  // namespace
}  // namespace tapshim::core
