// libprotobuf as the oracle: decode what the shim wrote, and compare it
// with an expected message written as a text-format literal (the way
// Envoy's tap tests write theirs as YAML).
#pragma once

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "envoy/data/tap/v3/wrapper.pb.h"

namespace envoy::data::tap::v3 {

// gtest prints traces in failure messages with this (found by ADL) rather
// than its own protobuf printer, which is shorter on multi-line output
// and which GCC 12 also flags with a false -Wrestrict warning.
inline void PrintTo(const TraceWrapper& trace, std::ostream* out) {
  *out << "\n" << trace.DebugString();
}

}  // namespace envoy::data::tap::v3

namespace tapshim::testing {

using envoy::data::tap::v3::TraceWrapper;

// Parses one binary TraceWrapper, failing the test if libprotobuf rejects it.
inline TraceWrapper parseTrace(std::string_view bytes) {
  TraceWrapper trace;
  EXPECT_TRUE(trace.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      << "libprotobuf could not parse " << bytes.size() << " bytes";
  return trace;
}

// Lower-case hex, for readable byte-for-byte failure messages.
inline std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : bytes) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 15];
  }
  return out;
}

// Matches a message equal (MessageDifferencer::Equals, so field presence
// counts) to the text-format literal `expected_text`.
MATCHER_P(EqualsProto, expected_text, "") {
  std::unique_ptr<google::protobuf::Message> expected(arg.New());
  if (!google::protobuf::TextFormat::ParseFromString(std::string(expected_text), expected.get())) {
    *result_listener << "the expected text does not parse";
    return false;
  }
  std::string differences;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&differences);
  if (differencer.Compare(*expected, arg)) return true;
  *result_listener << "\ndifferences (expected -> actual):\n" << differences;
  return false;
}

}  // namespace tapshim::testing
