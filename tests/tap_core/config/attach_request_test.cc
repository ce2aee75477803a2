// The attach request is read by the tapped process: only a plain directory
// name and the settings an attach may change get through, and the attach's
// own choices (where, in which format, streamed) always win.
#include "tap_core/config/attach_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tap_core/config/config.h"

namespace tapshim::core {
namespace {

using ::testing::HasSubstr;

TEST(AttachRequestTest, ReadsDirConfigAndSettings) {
  AttachRequest request;
  std::string error;
  ASSERT_TRUE(parseAttachRequest("dir=attach-1-ab\nconfig=1\nTAP_MATCH=port 80 or port 443\n",
                                 &request, &error))
      << error;
  EXPECT_EQ(request.dir, "attach-1-ab");
  EXPECT_TRUE(request.config);
  ASSERT_EQ(request.settings.size(), 1u);
  EXPECT_EQ(request.settings[0].second, "port 80 or port 443");
}

TEST(AttachRequestTest, RefusesPathsUnknownKeysAndCutText) {
  AttachRequest request;
  std::string error;
  for (const char* text : {"dir=../x\n", "dir=a/b\n", "dir=..\n", "dir=\n", "TAP_MATCH=port 1\n",
                           "dir=a\nTAP_PATH_PREFIX=/etc/x\n", "dir=a\nTAP_KEYLOG=/k\n",
                           "dir=a\nnonsense\n", "dir=a"}) {
    EXPECT_FALSE(parseAttachRequest(text, &request, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
  EXPECT_FALSE(parseAttachRequest("dir=a\nTAP_PATH_PREFIX=/etc/x\n", &request, &error));
  EXPECT_THAT(error, HasSubstr("TAP_PATH_PREFIX"));
}

TEST(AttachRequestTest, TheAttachDecidesWhereAndHowTheProcessDecidesDefaults) {
  const Environment own({{"TAP_STANDBY", "1"},
                         {"TAP_MAX_BUFFERED_RX_BYTES", "100"},
                         {"TAP_MATCH", "port 1"},
                         {"TAP_KEYLOG", "/tmp/keys"},
                         {"TAP_FORMAT", "json_body_as_string"},
                         {"XDG_RUNTIME_DIR", "/run/user/1"}});
  AttachRequest request;
  std::string error;
  ASSERT_TRUE(parseAttachRequest("dir=d\nTAP_MATCH=port 2\n", &request, &error)) << error;
  const Environment environment = attachEnvironment(own, request, "/r/d/trace", "/r/d.config");
  EXPECT_EQ(environment.get("TAP_MATCH"), "port 2");
  EXPECT_EQ(environment.get("TAP_MAX_BUFFERED_RX_BYTES"), "100");
  EXPECT_EQ(environment.get("TAP_PATH_PREFIX"), "/r/d/trace");
  EXPECT_EQ(environment.get("TAP_FORMAT"), "proto_binary_length_delimited");
  EXPECT_FALSE(environment.get("TAP_KEYLOG").has_value());
  EXPECT_FALSE(environment.get("TAP_STANDBY").has_value());
  EXPECT_FALSE(environment.get("TAP_CONFIG").has_value());
  const ConfigResult parsed = parseConfig(environment);
  ASSERT_TRUE(parsed.error.empty()) << parsed.error;
  EXPECT_TRUE(parsed.config.streaming);
  EXPECT_FALSE(parsed.config.standby);
  EXPECT_EQ(parsed.config.max_buffered_rx_bytes, 100u);
}

}  // namespace
}  // namespace tapshim::core
