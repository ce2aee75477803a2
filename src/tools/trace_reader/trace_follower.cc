#include "tools/trace_reader/trace_follower.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {
namespace {

using Clock = std::chrono::steady_clock;

// How often to look without being told: inotify's safety net (a lost
// event, a queue overflow), and the only way where inotify is unavailable.
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr auto kLookWithInotify = std::chrono::seconds(1);
// Read at most this much of one file before handing its records on, so a
// large file is not held in memory whole.
constexpr size_t kReadChunk = 1 << 20;
constexpr size_t kReadPerRecordPass = 16 << 20;
constexpr uint32_t kDirectoryEvents = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO;
constexpr uint32_t kFileEvents = IN_MODIFY | IN_CLOSE_WRITE;

std::string errnoText() { return std::strerror(errno); }

// Keeps files open (a file removed while it is followed can still be read
// to its end), within the fd limit, raised to its hard value.
size_t raiseOpenFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 256;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = std::min<rlim_t>(limit.rlim_max, 1 << 16);
    if (raised.rlim_cur > limit.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  const rlim_t spare = 32;  // stdio, the output, inotify, the signalfd, ...
  return limit.rlim_cur > 2 * spare ? static_cast<size_t>(limit.rlim_cur - spare) : 16;
}

}  // namespace

TraceFollower::TraceFollower(ConnectionNumbering numbering, Listener* listener, Reporter report)
    : numbering_(numbering),
      listener_(listener),
      report_(std::move(report)),
      inotify_fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)),
      max_open_files_(raiseOpenFileLimit()) {}

TraceFollower::~TraceFollower() {
  for (const auto& file : files_) {
    if (file->fd >= 0) close(file->fd);
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
}

bool TraceFollower::addInput(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    report_(absl::StrCat(path, ": cannot follow: ", errnoText()));
    return false;
  }
  if (S_ISDIR(info.st_mode)) {
    DIR* dir = opendir(path.c_str());
    if (dir == nullptr) {
      report_(absl::StrCat(path, ": cannot read the directory: ", errnoText()));
      return false;
    }
    closedir(dir);
    const std::string directory = path.back() == '/' ? path : path + "/";
    if (std::find(directories_.begin(), directories_.end(), directory) != directories_.end()) {
      return true;
    }
    directories_.push_back(directory);
    if (inotify_fd_ >= 0) {
      const int watch = inotify_add_watch(inotify_fd_, path.c_str(), kDirectoryEvents);
      if (watch >= 0) watched_directories_[watch] = directory;
    }
    scanDirectory(directory);
    return true;
  }
  if (!S_ISREG(info.st_mode)) {
    report_(absl::StrCat(path, ": not a regular file or a directory"));
    return false;
  }
  if (!traceFormatForPath(path)) {
    report_(absl::StrCat(
        path, ": unknown trace extension (expected .pb, .pb_length_delimited, .pb_text or .json)"));
    return false;
  }
  const std::optional<size_t> added = addFile(path, /*explicit_input=*/true);
  return added && !files_[*added]->failed;
}

void TraceFollower::scanDirectory(const std::string& directory) {
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) return;  // said when it was added; it may come back
  std::vector<std::string> names;
  while (const dirent* entry = readdir(dir)) {
    if (traceFormatForPath(entry->d_name)) names.emplace_back(entry->d_name);
  }
  closedir(dir);
  // Name order, as tapshim-view lists a directory, for a stable output.
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::optional<size_t> added = addFile(directory + name, /*explicit_input=*/false);
    if (added && running_) readFile(*files_[*added]);
  }
}

std::optional<size_t> TraceFollower::addFile(const std::string& path, bool explicit_input) {
  if (file_by_path_.count(path) != 0) return std::nullopt;
  const std::optional<TraceFormat> format = traceFormatForPath(path);
  if (!format) return std::nullopt;
  // Not O_NOFOLLOW: a link to a trace file is followed as the file. A FIFO
  // or device named like a trace is never read (O_NONBLOCK: no waiting for
  // a writer before the check).
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat info;
  if (fd >= 0 && (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode))) {
    close(fd);
    if (explicit_input) report_(absl::StrCat(path, ": not a regular file"));
    return std::nullopt;
  }
  file_by_path_[path] = files_.size();
  File& file = *files_.emplace_back(std::make_unique<File>(path, *format));
  if (fd < 0) {
    if (errno == ENOENT) {  // gone again before it was opened: nothing to read
      file_by_path_.erase(path);
      files_.pop_back();
      return std::nullopt;
    }
    fail(file, absl::StrCat("cannot open: ", errnoText()));
    return files_.size() - 1;
  }
  file.fd = fd;
  ++open_files_;
  if (explicit_input && inotify_fd_ >= 0) {
    const int watch = inotify_add_watch(inotify_fd_, path.c_str(), kFileEvents);
    if (watch >= 0) watched_files_[watch] = files_.size() - 1;
  }
  closeIdleFiles();
  return files_.size() - 1;
}

bool TraceFollower::ensureOpen(File& file) {
  if (file.fd >= 0) return true;
  file.fd = open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (file.fd < 0) {
    fail(file, absl::StrCat("cannot open again: ", errnoText()));
    return false;
  }
  ++open_files_;
  closeIdleFiles();
  return true;
}

void TraceFollower::closeIdleFiles() {
  if (open_files_ <= max_open_files_) return;
  // The files that have not grown for longest close first; they are opened
  // again by name if they grow.
  std::vector<File*> open;
  for (const auto& file : files_) {
    if (file->fd >= 0) open.push_back(file.get());
  }
  std::sort(open.begin(), open.end(),
            [](const File* a, const File* b) { return a->last_read < b->last_read; });
  for (File* file : open) {
    if (open_files_ <= max_open_files_ / 2) break;
    close(file->fd);
    file->fd = -1;
    --open_files_;
  }
}

void TraceFollower::fail(File& file, const std::string& problem) {
  if (file.failed) return;
  file.failed = true;
  if (file.fd >= 0) {
    close(file.fd);
    file.fd = -1;
    --open_files_;
  }
  report_(absl::StrCat(file.path, ": ", problem, "; no longer followed"));
}

void TraceFollower::readFile(File& file) {
  if (file.failed || !ensureOpen(file)) return;
  std::string& chunk = read_buffer_;
  chunk.resize(kReadChunk);
  envoy::data::tap::v3::TraceWrapper wrapper;
  while (true) {
    size_t read_now = 0;
    while (read_now < kReadPerRecordPass) {
      const ssize_t got =
          pread(file.fd, chunk.data(), chunk.size(), static_cast<off_t>(file.offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        fail(file, absl::StrCat("cannot read: ", errnoText()));
        return;
      }
      if (got == 0) break;
      file.tail.append(std::string_view(chunk.data(), static_cast<size_t>(got)));
      file.offset += static_cast<uint64_t>(got);
      read_now += static_cast<size_t>(got);
    }
    if (read_now > 0) file.last_read = Clock::now();
    const size_t index = file_by_path_[file.path];
    uint64_t records = 0;
    absl::Status status = file.tail.takeRecords([&](const std::string& record) {
      if (file.failed) return;
      ++records;
      absl::Status parsed = parseRecord(record, file.format, numbering_, &wrapper);
      if (!parsed.ok()) {
        fail(file, std::string(parsed.message()));
        return;
      }
      listener_->onRecord(index, file.path, wrapper);
    });
    if (!status.ok()) fail(file, std::string(status.message()));
    if (file.failed || read_now < kReadPerRecordPass) return;
  }
}

void TraceFollower::lookEverywhere() {
  for (const std::string& directory : directories_) scanDirectory(directory);
  for (size_t i = 0; i < files_.size(); ++i) {
    File& file = *files_[i];
    if (file.failed) continue;
    struct stat info;
    const int got = file.fd >= 0 ? fstat(file.fd, &info) : stat(file.path.c_str(), &info);
    if (got != 0) continue;  // removed: what was read is all there is
    if (static_cast<uint64_t>(info.st_size) < file.offset) {
      fail(file, "shrank (truncated or rewritten)");
    } else if (static_cast<uint64_t>(info.st_size) > file.offset) {
      readFile(file);
    }
  }
}

void TraceFollower::readInotifyEvents(bool* overflowed) {
  alignas(inotify_event) char buffer[16384];
  // Each file once per look, in the order of its first event: a file that
  // appears after another grew is read after it.
  std::set<size_t> to_read;
  std::vector<size_t> order;
  while (true) {
    const ssize_t got = read(inotify_fd_, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    for (ssize_t at = 0; at < got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if ((event->mask & IN_Q_OVERFLOW) != 0) *overflowed = true;
      auto file = watched_files_.find(event->wd);
      if (file != watched_files_.end()) {
        if (to_read.insert(file->second).second) order.push_back(file->second);
        continue;
      }
      auto directory = watched_directories_.find(event->wd);
      if (directory == watched_directories_.end() || event->len == 0) continue;
      const std::string path = directory->second + event->name;
      auto known = file_by_path_.find(path);
      const std::optional<size_t> index = known != file_by_path_.end()
                                              ? std::optional<size_t>(known->second)
                                              : addFile(path, /*explicit_input=*/false);
      if (index && to_read.insert(*index).second) order.push_back(*index);
    }
  }
  for (size_t index : order) readFile(*files_[index]);
}

void TraceFollower::run(int stop_fd, Deadline deadline) {
  running_ = true;
  for (size_t i = 0; i < files_.size(); ++i) readFile(*files_[i]);
  if (!listener_->onLookEnd()) return;
  Clock::time_point last_look = Clock::now();
  while (true) {
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kTick);
    if (deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) break;
      timeout = std::min(timeout, left + std::chrono::milliseconds(1));
    }
    pollfd fds[2];
    nfds_t count = 0;
    if (stop_fd >= 0) fds[count++] = {stop_fd, POLLIN, 0};
    const bool inotify = inotify_fd_ >= 0;
    if (inotify) fds[count++] = {inotify_fd_, POLLIN, 0};
    const int ready = poll(fds, count, static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR) break;
    if (stop_fd >= 0 && ready > 0 && (fds[0].revents & POLLIN) != 0) break;
    bool overflowed = false;
    if (inotify && ready > 0 && (fds[count - 1].revents & POLLIN) != 0) {
      readInotifyEvents(&overflowed);
    }
    const Clock::time_point now = Clock::now();
    if (!inotify || overflowed || now - last_look >= kLookWithInotify) {
      lookEverywhere();
      last_look = now;
    }
    if (!listener_->onLookEnd()) return;
  }
  // The end: what is on disk now is shown, and what is cut is said.
  if (inotify_fd_ >= 0) {
    bool overflowed = false;
    readInotifyEvents(&overflowed);
  }
  lookEverywhere();
  if (!listener_->onLookEnd()) return;
  for (const auto& file : files_) {
    if (!file->failed && file->tail.holdsPartialRecord()) {
      report_(absl::StrCat(file->path, ": its last ", file->tail.pendingBytes(),
                           " bytes are a record not yet complete, not shown"));
    }
  }
}

}  // namespace tapshim::tap2pcap
