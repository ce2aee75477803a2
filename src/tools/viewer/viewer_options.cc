#include "tools/viewer/viewer_options.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/trace_reader/follow_duration.h"
#include "tools/trace_reader/trace_format.h"

namespace tapshim::view {

const char kViewerUsage[] =
    "usage: tapshim-view [--events] [--json] FILE|DIR...\n"
    "       tapshim-view --follow [--duration SECONDS] FILE|DIR...\n"
    "Summarises tapshim (and Envoy socket tap) traces: one line per connection, sorted by\n"
    "its first event: trace id, local → remote address, process[pid], bytes and events sent\n"
    "and received (with truncation: events cut at the limits, and gaps), whether it was\n"
    "closed, duration from first to last event, buffered or streamed, and the file.\n"
    "Any mix of .pb, .pb_length_delimited, .pb_text and .json, buffered or streamed; a\n"
    "directory stands for the trace files in it.\n"
    "  --events     also one line per event: time since the first, → write / ← read, bytes,\n"
    "               truncated, end_stream, seq (streamed), and the start of the data\n"
    "  --json       one JSON object per connection and line instead (with --events, an\n"
    "               \"events\" array in it)\n"
    "  --follow     live: one line per event as the traces are written (time, local →\n"
    "               remote for a write or ← for a read, process[pid], bytes, flags, the\n"
    "               start of the data), from the files and every trace file that appears\n"
    "               in the directories, until SIGINT or SIGTERM\n"
    "  --duration SECONDS\n"
    "               with --follow: stop after this long\n"
    "  -h, --help   this text\n"
    "  --version    the version\n"
    "A file that is not a trace is named on stderr; the others are still shown, and the\n"
    "exit status is 1 (2 for a mistake on the command line).\n";

absl::StatusOr<ViewerOptions> parseViewerCommandLine(int argc, const char* const* argv) {
  ViewerOptions options;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (flags_done || arg.empty() || arg[0] != '-' || arg == "-") {
      options.inputs.emplace_back(arg);
    } else if (arg == "--") {
      flags_done = true;
    } else if (arg == "--events") {
      options.events = true;
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--follow") {
      options.follow = true;
    } else if (tap2pcap::isDurationFlag(arg)) {
      if (absl::Status status = tap2pcap::parseDuration(argc, argv, &i, &options.duration_seconds);
          !status.ok()) {
        return status;
      }
    } else if (arg == "-h" || arg == "--help") {
      options.help = true;
      return options;
    } else if (arg == "--version") {
      options.version = true;
      return options;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", std::string(arg)));
    }
  }
  if (options.inputs.empty()) return absl::InvalidArgumentError("no trace file given");
  if (options.duration_seconds > 0 && !options.follow) {
    return absl::InvalidArgumentError("--duration goes with --follow");
  }
  if (options.follow && (options.events || options.json)) {
    return absl::InvalidArgumentError(
        "--follow prints events as text; it takes no --events or --json");
  }
  return options;
}

absl::StatusOr<std::vector<std::string>> expandInput(const std::string& input) {
  struct stat info;
  if (stat(input.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return std::vector{input};
  DIR* dir = opendir(input.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(absl::StrCat(input, ": cannot read: ", std::strerror(errno)));
  }
  std::vector<std::string> files;
  const std::string base = input.back() == '/' ? input : input + "/";
  while (const dirent* entry = readdir(dir)) {
    const std::string path = base + entry->d_name;
    struct stat file_info;
    if (tap2pcap::traceFormatForPath(entry->d_name) && stat(path.c_str(), &file_info) == 0 &&
        S_ISREG(file_info.st_mode)) {
      files.push_back(path);
    }
  }
  closedir(dir);
  if (files.empty()) return absl::NotFoundError(absl::StrCat(input, ": holds no trace file"));
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace tapshim::view
