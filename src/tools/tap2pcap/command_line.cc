#include "tools/tap2pcap/command_line.h"

#include <sys/stat.h>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/trace_reader/follow_duration.h"

namespace tapshim::tap2pcap {

const char kUsage[] =
    "usage: tap2pcap [--envoy-compat] [--old-connection-numbering] IN OUT\n"
    "       tap2pcap [--envoy-compat] [--old-connection-numbering] -o OUT IN...\n"
    "       tap2pcap --follow [--duration SECONDS] -o OUT INPUT...\n"
    "Converts Envoy socket tap traces (.pb, .pb_length_delimited, .pb_text, .json;\n"
    "buffered or streamed) into one capture, OUT.pcapng (default) or OUT.pcap.\n"
    "  --envoy-compat              packets exactly as Envoy's tap2pcap makes them\n"
    "  --old-connection-numbering  binary traces use Connection fields 2/3 (Envoy <= 1.27)\n"
    "  -o OUT                      the capture to write; every other argument is an input\n"
    "  --follow                    a live capture: follows the INPUTs (trace files, or\n"
    "                              directories whose trace files, now or later, are read)\n"
    "                              while they grow, and writes each event's packets to OUT\n"
    "                              (a file, a FIFO, or - for stdout) at once, until SIGINT\n"
    "                              or SIGTERM\n"
    "  --duration SECONDS          with --follow: stop after this long\n";

absl::StatusOr<CaptureFormat> captureFormatForPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return CaptureFormat::kPcapng;
  const std::string_view extension = name.substr(dot);
  if (extension == ".pcapng") return CaptureFormat::kPcapng;
  if (extension == ".pcap") return CaptureFormat::kPcap;
  return absl::InvalidArgumentError(absl::StrCat(std::string(path), ": unknown capture extension '",
                                                 std::string(extension),
                                                 "' (use .pcapng or .pcap)"));
}

absl::StatusOr<Options> parseCommandLine(int argc, const char* const* argv) {
  Options options;
  std::vector<std::string> positional;
  bool have_output_flag = false;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (flags_done || arg.empty() || arg[0] != '-' || arg == "-") {
      positional.emplace_back(arg);
    } else if (arg == "--") {
      flags_done = true;
    } else if (arg == "--envoy-compat") {
      options.envoy_compat = true;
    } else if (arg == "--old-connection-numbering") {
      options.old_connection_numbering = true;
    } else if (arg == "--follow") {
      options.follow = true;
    } else if (isDurationFlag(arg)) {
      if (absl::Status status = parseDuration(argc, argv, &i, &options.duration_seconds);
          !status.ok()) {
        return status;
      }
    } else if (arg == "-h" || arg == "--help") {
      options.help = true;
      return options;
    } else if (arg == "-o" || arg == "--output") {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(absl::StrCat(std::string(arg), " needs a file name"));
      if (have_output_flag) return absl::InvalidArgumentError("-o given twice");
      have_output_flag = true;
      options.output = argv[++i];
    } else if (arg.substr(0, 3) == "-o=" || arg.substr(0, 9) == "--output=") {
      if (have_output_flag) return absl::InvalidArgumentError("-o given twice");
      have_output_flag = true;
      options.output = std::string(arg.substr(arg.find('=') + 1));
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", std::string(arg)));
    }
  }
  if (options.duration_seconds > 0 && !options.follow) {
    return absl::InvalidArgumentError("--duration goes with --follow");
  }
  if (options.follow && !have_output_flag) {
    return absl::InvalidArgumentError("--follow needs -o OUT (a file, a FIFO, or - for stdout)");
  }
  if (have_output_flag) {
    if (positional.empty()) return absl::InvalidArgumentError("no input trace given");
    options.inputs = std::move(positional);
  } else {
    if (positional.size() != 2) {
      return absl::InvalidArgumentError("expected IN OUT (or -o OUT IN... for several inputs)");
    }
    options.inputs = {positional[0]};
    options.output = positional[1];
  }
  if (options.output.empty()) return absl::InvalidArgumentError("empty output file name");
  absl::StatusOr<CaptureFormat> format = captureFormatForPath(options.output);
  // A live capture may go to a FIFO or a device, whose name says nothing
  // of a format: pcapng.
  struct stat info;
  if (!format.ok() && options.follow && stat(options.output.c_str(), &info) == 0 &&
      !S_ISREG(info.st_mode)) {
    format = CaptureFormat::kPcapng;
  }
  if (!format.ok()) return format.status();
  options.output_format = *format;
  return options;
}

}  // namespace tapshim::tap2pcap
