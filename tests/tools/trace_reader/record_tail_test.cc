#include "tools/trace_reader/record_tail.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/tools/trace_builder.h"
#include "tools/trace_reader/record_scanner.h"

namespace tapshim::tap2pcap {
namespace {

using testing::encodeTraces;
using testing::ipAddress;
using testing::readEvent;
using testing::TraceWrapper;
using testing::writeEvent;

// A streamed trace as a file holds it: the connection, then events with
// brackets, quotes and binary bytes in their data.
std::vector<TraceWrapper> streamedTrace() {
  std::vector<TraceWrapper> out;
  TraceWrapper first;
  auto* segment = first.mutable_socket_streamed_trace_segment();
  segment->set_trace_id(9);
  *segment->mutable_connection()->mutable_local_address() = ipAddress("127.0.0.1", 40000);
  *segment->mutable_connection()->mutable_remote_address() = ipAddress("127.0.0.1", 80);
  out.push_back(first);
  const std::string payloads[] = {"GET / {\"x\": [1]} \\ '#'\n", std::string("\0\xff}>{<", 6),
                                  std::string(300, 'z')};
  int64_t time = 1'700'000'000'000'000'000;
  for (const std::string& data : payloads) {
    TraceWrapper next;
    next.mutable_socket_streamed_trace_segment()->set_trace_id(9);
    *next.mutable_socket_streamed_trace_segment()->mutable_event() = writeEvent(time, data);
    out.push_back(next);
    time += 1000;
  }
  TraceWrapper last;
  last.mutable_socket_streamed_trace_segment()->set_trace_id(9);
  *last.mutable_socket_streamed_trace_segment()->mutable_event() = readEvent(time, "ok");
  out.push_back(last);
  return out;
}

// The records a whole file splits into.
std::vector<std::string> recordsOfWholeFile(const std::string& content, TraceFormat format) {
  std::istringstream in(content);
  std::unique_ptr<RecordScanner> scanner = makeRecordScanner(format, in);
  std::vector<std::string> records;
  std::string record;
  RecordLocation location;
  while (true) {
    absl::StatusOr<bool> got = scanner->next(&record, &location);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || !*got) break;
    records.push_back(record);
  }
  return records;
}

class RecordTailTest : public ::testing::TestWithParam<TraceFormat> {};

INSTANTIATE_TEST_SUITE_P(AllFormats, RecordTailTest,
                         ::testing::Values(TraceFormat::kProtoBinary,
                                           TraceFormat::kProtoLengthDelimited,
                                           TraceFormat::kProtoText, TraceFormat::kJson));

// The file grows a byte at a time: each record comes out once, whole, and
// only when its last byte is in; never a cut one.
TEST_P(RecordTailTest, ByteByByteGivesWholeRecordsOnly) {
  const std::string content = encodeTraces(streamedTrace(), GetParam());
  const std::vector<std::string> expected = recordsOfWholeFile(content, GetParam());
  ASSERT_EQ(expected.size(), 5u);
  RecordTail tail(GetParam());
  std::vector<std::string> got;
  std::vector<size_t> completed_at;
  for (size_t i = 0; i < content.size(); ++i) {
    tail.append(content.substr(i, 1));
    const absl::Status status = tail.takeRecords([&](const std::string& record) {
      got.push_back(record);
      completed_at.push_back(i + 1);
    });
    ASSERT_TRUE(status.ok()) << status << " at byte " << i;
  }
  EXPECT_EQ(got, expected);
  // Each record came out at the byte that ends it, no sooner and no later
  // (text formats end at their closing bracket; a newline may follow).
  size_t end = 0;
  for (size_t r = 0; r < expected.size(); ++r) {
    end = content.find(expected[r], end) + expected[r].size();
    EXPECT_EQ(completed_at[r], end) << "record " << r;
  }
  EXPECT_FALSE(tail.holdsPartialRecord());
  EXPECT_EQ(tail.consumed(), end);
}

TEST_P(RecordTailTest, AHalfWrittenRecordIsKeptAndSaid) {
  const std::string content = encodeTraces(streamedTrace(), GetParam());
  const std::vector<std::string> expected = recordsOfWholeFile(content, GetParam());
  const size_t second_end = content.find(expected[1]) + expected[1].size();
  const size_t cut = second_end + (content.find(expected[2]) + expected[2].size() - second_end) / 2;
  RecordTail tail(GetParam());
  tail.append(content.substr(0, cut));
  std::vector<std::string> got;
  auto take = [&](const std::string& record) { got.push_back(record); };
  ASSERT_TRUE(tail.takeRecords(take).ok());
  EXPECT_EQ(got, std::vector<std::string>(expected.begin(), expected.begin() + 2));
  EXPECT_TRUE(tail.holdsPartialRecord());
  ASSERT_TRUE(tail.takeRecords(take).ok());  // nothing new: nothing more
  EXPECT_EQ(got.size(), 2u);
  tail.append(content.substr(cut));
  ASSERT_TRUE(tail.takeRecords(take).ok());
  EXPECT_EQ(got, expected);
}

TEST(RecordTailTest, BytesThatAreNotATraceAreAnErrorAfterTheGoodRecords) {
  const std::string good = encodeTraces(streamedTrace(), TraceFormat::kProtoLengthDelimited);
  RecordTail tail(TraceFormat::kProtoLengthDelimited);
  tail.append(good);
  tail.append(std::string(12, '\xff'));  // a varint longer than ten bytes
  size_t records = 0;
  const absl::Status status = tail.takeRecords([&](const std::string&) { ++records; });
  EXPECT_EQ(records, 5u);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("malformed varint"), std::string::npos) << status;

  RecordTail json(TraceFormat::kJson);
  json.append("not json\n");
  EXPECT_FALSE(json.takeRecords([](const std::string&) {}).ok());
}

TEST(RecordTailTest, BlankSpaceBetweenTextRecordsIsNotAPartialRecord) {
  RecordTail tail(TraceFormat::kJson);
  tail.append(encodeTraces({streamedTrace()[0]}, TraceFormat::kJson) + "\n  \n");
  size_t records = 0;
  ASSERT_TRUE(tail.takeRecords([&](const std::string&) { ++records; }).ok());
  EXPECT_EQ(records, 1u);
  EXPECT_FALSE(tail.holdsPartialRecord());
  tail.append(" {");
  EXPECT_TRUE(tail.holdsPartialRecord());
}

}  // namespace
}  // namespace tapshim::tap2pcap
