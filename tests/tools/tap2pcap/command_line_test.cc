#include "tools/tap2pcap/command_line.h"

#include <gtest/gtest.h>

namespace tapshim::tap2pcap {
namespace {

absl::StatusOr<Options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "tap2pcap");
  return parseCommandLine(static_cast<int>(args.size()), args.data());
}

TEST(CommandLineTest, InputThenOutput) {
  auto options = parse({"--envoy-compat", "in.pb_text", "out.pcap"});
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->envoy_compat);
  EXPECT_FALSE(options->old_connection_numbering);
  EXPECT_EQ(options->inputs, std::vector<std::string>{"in.pb_text"});
  EXPECT_EQ(options->output, "out.pcap");
  EXPECT_EQ(options->output_format, CaptureFormat::kPcap);
}

TEST(CommandLineTest, OutputFlagTakesManyInputsAndFlagsAnywhere) {
  auto options = parse({"a.pb", "-o", "all.pcapng", "b.json", "--old-connection-numbering"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->inputs, (std::vector<std::string>{"a.pb", "b.json"}));
  EXPECT_EQ(options->output_format, CaptureFormat::kPcapng);
  EXPECT_TRUE(options->old_connection_numbering);
  auto dashes = parse({"-o", "x", "--", "-odd-name.pb"});
  ASSERT_TRUE(dashes.ok());
  EXPECT_EQ(dashes->inputs, std::vector<std::string>{"-odd-name.pb"});
}

TEST(CommandLineTest, OutputExtensionChoosesFormat) {
  EXPECT_EQ(*captureFormatForPath("x.pcap"), CaptureFormat::kPcap);
  EXPECT_EQ(*captureFormatForPath("dir.d/x.pcapng"), CaptureFormat::kPcapng);
  EXPECT_EQ(*captureFormatForPath("dir.d/capture"), CaptureFormat::kPcapng);
  EXPECT_FALSE(captureFormatForPath("x.cap").ok());
}

TEST(CommandLineTest, Mistakes) {
  EXPECT_FALSE(parse({}).ok());
  EXPECT_FALSE(parse({"in.pb"}).ok());
  EXPECT_FALSE(parse({"a", "b", "c"}).ok());
  EXPECT_FALSE(parse({"-o"}).ok());
  EXPECT_FALSE(parse({"-o", "x.pcapng"}).ok());
  EXPECT_FALSE(parse({"--envoy_compat", "a.pb", "b.pcap"}).ok());
  EXPECT_FALSE(parse({"a.pb", "b.txt"}).ok());
}

TEST(CommandLineTest, FollowTakesInputsOutputAndDuration) {
  auto options = parse({"--follow", "/tmp/tap", "a.pb", "-o", "-", "--duration", "2.5"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->follow);
  EXPECT_EQ(options->inputs, (std::vector<std::string>{"/tmp/tap", "a.pb"}));
  EXPECT_EQ(options->output, "-");
  EXPECT_EQ(options->output_format, CaptureFormat::kPcapng);
  EXPECT_DOUBLE_EQ(options->duration_seconds, 2.5);
  auto equals = parse({"--follow", "--duration=1", "d", "-o", "x.pcap"});
  ASSERT_TRUE(equals.ok());
  EXPECT_DOUBLE_EQ(equals->duration_seconds, 1);
  EXPECT_EQ(equals->output_format, CaptureFormat::kPcap);
  auto forever = parse({"--follow", "d", "-o", "-"});
  ASSERT_TRUE(forever.ok());
  EXPECT_EQ(forever->duration_seconds, 0);
}

TEST(CommandLineTest, FollowMistakes) {
  EXPECT_EQ(parse({"--follow", "d"}).status().message(),
            "--follow needs -o OUT (a file, a FIFO, or - for stdout)");
  EXPECT_EQ(parse({"--duration", "3", "a.pb", "b.pcapng"}).status().message(),
            "--duration goes with --follow");
  for (const char* bad : {"0", "-1", "x", "nan", ""}) {
    EXPECT_FALSE(parse({"--follow", "d", "-o", "-", "--duration", bad}).ok()) << bad;
  }
  EXPECT_FALSE(parse({"--follow", "d", "-o", "-", "--duration"}).ok());
  // A regular file's name must still say its format.
  EXPECT_FALSE(parse({"--follow", "d", "-o", "capture.txt"}).ok());
}

}  // namespace
}  // namespace tapshim::tap2pcap
