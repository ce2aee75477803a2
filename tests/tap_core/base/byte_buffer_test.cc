// ByteBuffer: the malloc-free buffer under event logs and encoded messages.
#include "tap_core/base/byte_buffer.h"

#include <gtest/gtest.h>

#include <string>

namespace tapshim::core {
namespace {

TEST(ByteBufferTest, AppendsAndGrowsKeepingTheContents) {
  ByteBuffer buffer;
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    const std::string piece = std::to_string(i) + ",";
    ASSERT_TRUE(buffer.append(piece.data(), piece.size()));
    expected += piece;
  }
  EXPECT_EQ(buffer.view(), expected);
}

TEST(ByteBufferTest, AppendingNothingSucceeds) {
  // An empty piece (an empty body, say) is not a memory shortage.
  ByteBuffer buffer;
  EXPECT_TRUE(buffer.append("", 0));
  EXPECT_EQ(buffer.size(), 0u);
  ASSERT_TRUE(buffer.append("ab", 2));
  EXPECT_TRUE(buffer.append("", 0));
  EXPECT_EQ(buffer.view(), "ab");
}

TEST(ByteBufferTest, ResetEmptiesAndTheBufferIsReusable) {
  ByteBuffer buffer;
  ASSERT_TRUE(buffer.append("abc", 3));
  buffer.reset();
  EXPECT_EQ(buffer.size(), 0u);
  ASSERT_TRUE(buffer.append("d", 1));
  EXPECT_EQ(buffer.view(), "d");
}

}  // namespace
}  // namespace tapshim::core
