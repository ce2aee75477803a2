// Follows trace files while they are written (tap2pcap --follow,
// tapshim-view --follow): trace files and directories, where every trace
// file that appears (now or later) is picked up. Each file is read from its
// start, then again as it grows; only whole records are handed on
// (record_tail.h). Growth is noticed through inotify (a directory's watch
// reports writes to the files in it), with a look at every file's size each
// second as a safety net (and every 100 ms where inotify is unavailable):
// no busy loop, and a record reaches the listener within about 100 ms of its
// write. A file that cannot be read or is not a trace is reported once and
// left; the others go on.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "envoy/data/tap/v3/wrapper.pb.h"
#include "tools/trace_reader/record_parser.h"
#include "tools/trace_reader/record_tail.h"
#include "tools/trace_reader/trace_format.h"

namespace tapshim::tap2pcap {

class TraceFollower {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // One whole record of file number `file` (numbered in the order files
    // are found), at `path`.
    virtual void onRecord(size_t file, const std::string& path,
                          const envoy::data::tap::v3::TraceWrapper& wrapper) = 0;
    // Every record found in one look at the files has been handed on: the
    // moment to flush. @return false to stop following at once.
    virtual bool onLookEnd() = 0;
  };
  // Takes one line naming a file and its problem (no program name).
  using Reporter = std::function<void(const std::string& line)>;

  TraceFollower(ConnectionNumbering numbering, Listener* listener, Reporter report);
  ~TraceFollower();
  TraceFollower(const TraceFollower&) = delete;
  TraceFollower& operator=(const TraceFollower&) = delete;

  // Follows a trace file, or a directory's trace files (not below it);
  // run() reads what they hold already, then what comes.
  // @return false, after reporting why, if `path` cannot be followed.
  bool addInput(const std::string& path);

  // Follows until `stop_fd` (say a signalfd; -1 for none) is readable or
  // `deadline` passes, then looks once more at everything on disk, reports
  // files that end in a record not yet complete, and returns. Returns at
  // once, without that last look, if the listener asks to stop.
  using Deadline = std::optional<std::chrono::steady_clock::time_point>;
  void run(int stop_fd, Deadline deadline);

 private:
  struct File {
    File(std::string p, TraceFormat f) : path(std::move(p)), format(f), tail(f) {}
    std::string path;
    TraceFormat format;
    int fd = -1;
    uint64_t offset = 0;  // bytes read so far
    RecordTail tail;
    bool failed = false;  // reported, no longer read
    std::chrono::steady_clock::time_point last_read;
  };

  // A file found in a directory (explicit = false) or named (true); not
  // read yet. @return its index, or nothing if it is not followed.
  std::optional<size_t> addFile(const std::string& path, bool explicit_input);
  void scanDirectory(const std::string& directory);
  bool ensureOpen(File& file);
  void closeIdleFiles();
  // Reads what `file` gained and hands on its whole records.
  void readFile(File& file);
  void fail(File& file, const std::string& problem);
  // Looks at every directory and every file's size.
  void lookEverywhere();
  void readInotifyEvents(bool* overflowed);

  const ConnectionNumbering numbering_;
  Listener* const listener_;
  const Reporter report_;
  int inotify_fd_ = -1;
  size_t open_files_ = 0;
  size_t max_open_files_;
  std::vector<std::string> directories_;
  std::unordered_map<int, std::string> watched_directories_;  // watch descriptor -> path
  std::unordered_map<int, size_t> watched_files_;             // watch descriptor -> file
  std::vector<std::unique_ptr<File>> files_;
  std::unordered_map<std::string, size_t> file_by_path_;
  std::string read_buffer_;
  bool running_ = false;  // files found are read at once (not at run's start)
};

}  // namespace tapshim::tap2pcap
