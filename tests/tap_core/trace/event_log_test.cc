// EventLog: events packed into one buffer, read back in order.
#include "tap_core/trace/event_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace tapshim::core {
namespace {

std::vector<EventView> eventsOf(const EventLog& log) {
  std::vector<EventView> events;
  log.forEach([&](const EventView& event) { events.push_back(event); });
  return events;
}

bool append(EventLog& log, EventKind kind, std::string_view data) {
  EventView event;
  event.kind = kind;
  event.data = data;
  return log.append(event);
}

TEST(EventLogTest, KeepsEveryFieldOfEveryEventInOrder) {
  EventLog log;
  char a[] = "abc", b[] = "defg";
  iovec slices[] = {{a, 3}, {b, 4}};
  // Only the first 5 of the 7 offered bytes are kept.
  ASSERT_TRUE(log.append(-7, EventKind::kWrite, IoSlices(slices, 2, 7), 5, true, true, 42));
  ASSERT_TRUE(append(log, EventKind::kRead, ""));
  const auto events = eventsOf(log);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(log.count(), 2u);
  EXPECT_EQ(events[0].timestamp_ns, -7);
  EXPECT_EQ(events[0].kind, EventKind::kWrite);
  EXPECT_EQ(events[0].data, "abcde");
  EXPECT_TRUE(events[0].truncated);
  EXPECT_TRUE(events[0].end_stream);
  EXPECT_EQ(events[0].seq_num, 42u);
  EXPECT_EQ(events[1].kind, EventKind::kRead);
  EXPECT_EQ(events[1].data, "");
  EXPECT_FALSE(events[1].truncated);
}

TEST(EventLogTest, EndStreamMarksTheNewestEventOnlyIfItIsAWrite) {
  EventLog log;
  ASSERT_TRUE(append(log, EventKind::kWrite, "w1"));
  ASSERT_TRUE(append(log, EventKind::kRead, "r"));
  log.markLastWriteEndStream();
  for (const EventView& event : eventsOf(log)) EXPECT_FALSE(event.end_stream);
  ASSERT_TRUE(append(log, EventKind::kWrite, "w2"));
  log.markLastWriteEndStream();
  const auto events = eventsOf(log);
  EXPECT_FALSE(events[0].end_stream);
  EXPECT_TRUE(events[2].end_stream);
}

TEST(EventLogTest, EndStreamOnAnEmptyLogDoesNothing) {
  EventLog log;
  log.markLastWriteEndStream();
  EXPECT_TRUE(log.empty());
}

TEST(EventLogTest, ClearForgetsEverything) {
  EventLog log;
  ASSERT_TRUE(append(log, EventKind::kWrite, "w"));
  log.clear();
  EXPECT_TRUE(log.empty());
  EXPECT_TRUE(eventsOf(log).empty());
  log.markLastWriteEndStream();  // must not touch freed memory
  ASSERT_TRUE(append(log, EventKind::kRead, "r"));
  ASSERT_EQ(eventsOf(log).size(), 1u);
  EXPECT_EQ(eventsOf(log)[0].data, "r");
}

TEST(EventLogTest, SendfileBytesAreReadBackFromTheFile) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(std::fwrite("0123456789", 1, 10, file), 10u);
  ASSERT_EQ(std::fflush(file), 0);
  EventLog log;
  // sendfile moved 6 bytes from offset 2; the tapper keeps 4 of them.
  ASSERT_TRUE(
      log.append(0, EventKind::kWrite, IoSlices::fromFile(fileno(file), 2, 6), 4, true, false));
  // The file shrank before the shim could read it back: keep what is
  // there, and say the event is cut.
  ASSERT_TRUE(
      log.append(0, EventKind::kWrite, IoSlices::fromFile(fileno(file), 8, 5), 5, false, false));
  const auto events = eventsOf(log);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "2345");
  EXPECT_EQ(events[1].data, "89");
  EXPECT_TRUE(events[1].truncated);
  std::fclose(file);
}

// keepFirstBytes: a trace cut where its file ends, in time order.
TEST(EventLogTest, KeepFirstBytesCutsTheCrossingEventAndDropsTheRest) {
  EventLog log;
  ASSERT_TRUE(append(log, EventKind::kWrite, "GET /"));
  ASSERT_TRUE(append(log, EventKind::kRead, "0123456789"));
  ASSERT_TRUE(append(log, EventKind::kWrite, "more"));
  ASSERT_TRUE(append(log, EventKind::kRead, "last"));
  EXPECT_EQ(log.dataBytes(), 23u);
  bool cut[2] = {false, false};
  log.keepFirstBytes(8, cut);
  const auto events = eventsOf(log);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(log.count(), 2u);
  EXPECT_EQ(events[0].data, "GET /");
  EXPECT_FALSE(events[0].truncated);
  EXPECT_EQ(events[1].data, "012");
  EXPECT_TRUE(events[1].truncated);
  EXPECT_TRUE(cut[static_cast<size_t>(EventKind::kRead)]);
  EXPECT_TRUE(cut[static_cast<size_t>(EventKind::kWrite)]) << "the later write was dropped";
  EXPECT_EQ(log.dataBytes(), 8u);
  // What follows is appended after the cut.
  ASSERT_TRUE(append(log, EventKind::kRead, "after"));
  EXPECT_EQ(eventsOf(log).back().data, "after");
}

TEST(EventLogTest, KeepFirstBytesAtAnEventBoundaryKeepsTheNextEventEmptyAndCut) {
  EventLog log;
  ASSERT_TRUE(append(log, EventKind::kRead, "abcd"));
  ASSERT_TRUE(append(log, EventKind::kRead, "efgh"));
  log.markLastWriteEndStream();
  bool cut[2] = {false, false};
  log.keepFirstBytes(4, cut);
  const auto events = eventsOf(log);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "abcd");
  EXPECT_EQ(events[1].data, "");
  EXPECT_TRUE(events[1].truncated);
  EXPECT_TRUE(cut[static_cast<size_t>(EventKind::kRead)]);
  EXPECT_FALSE(cut[static_cast<size_t>(EventKind::kWrite)]);
}

TEST(EventLogTest, KeepFirstBytesWithRoomForAllChangesNothing) {
  EventLog log;
  ASSERT_TRUE(append(log, EventKind::kWrite, "abc"));
  ASSERT_TRUE(append(log, EventKind::kWrite, "def"));
  log.markLastWriteEndStream();
  bool cut[2] = {false, false};
  log.keepFirstBytes(6, cut);
  const auto events = eventsOf(log);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "def");
  EXPECT_TRUE(events[1].end_stream);
  EXPECT_FALSE(events[1].truncated);
  EXPECT_FALSE(cut[0] || cut[1]);
}

}  // namespace
}  // namespace tapshim::core
