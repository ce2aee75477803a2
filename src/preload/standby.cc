#include "preload/standby.h"

#include <fcntl.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "preload/rendezvous.h"
#include "preload/shim.h"
#include "tap_core/base/clock.h"
#include "tap_core/base/load_time.h"
#include "tap_core/base/os.h"
#include "tap_core/config/attach_request.h"
#include "tap_core/config/config.h"
#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/engine/socket_probe.h"
#include "tap_core/sink/file_per_tap_sink.h"
#include "tap_core/trace/trace_ids.h"

namespace tapshim::preload::standby {
namespace {

namespace os = core::os;

constexpr int64_t kCheckIntervalNanos = 100'000'000;
// g_next_check after stopLooking().
constexpr int64_t kNever = INT64_MAX;
// Every tenth check asks for the effective user instead of looking for a
// request (still one system call): a server that drops root after its
// start looks in its new user's directory within a second.
constexpr unsigned kUserCheckEvery = 10;
// The request and its attach's directory name are short; more is refused.
constexpr size_t kMaxRequestBytes = 4096;

enum class State : uint8_t {
  kLooking,   // no request
  kStale,     // a request nobody holds (its attacher died) or not ours
  kAttached,  // tapping for the attacher holding the request's lock
  kRefused,   // the request could not be honoured (its attacher was told)
};

const core::Environment* g_environment = nullptr;
std::string_view g_runtime_dir;

// When the next check is due (CLOCK_MONOTONIC_COARSE), and who makes it.
std::atomic<int64_t> g_next_check{0};
std::atomic<bool> g_busy{false};

// The rest is touched only by the thread holding g_busy (and by the fork
// handler, in a child that has one thread).
State g_state = State::kLooking;
int g_pid = 0;
unsigned g_euid = 0;
unsigned g_checks = 0;
bool g_resolved = false;
TAPSHIM_LARGE_TABLE char g_directory[rendezvous::kPathMax];
TAPSHIM_LARGE_TABLE char g_request_path[rendezvous::kPathMax];
char g_request_name[24];  // "<pid>.attach"
// The request, kept open while attached or refused: its lock is the
// attacher's life. Its identity is checked before closing it, so that an fd
// number the program has since reused is never closed by the shim.
int g_request_fd = -1;
uint64_t g_request_device = 0, g_request_inode = 0;
// kStale: the request file left alone, until another replaces it.
uint64_t g_stale_device = 0, g_stale_inode = 0;
core::TapEngine* g_attached = nullptr;

int64_t coarseNow() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);  // the vDSO's: no system call
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void formatRequestName(int pid) {
  char digits[12];
  size_t count = 0;
  unsigned value = static_cast<unsigned>(pid);
  do {
    digits[sizeof(digits) - 1 - count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  std::memcpy(g_request_name, digits + sizeof(digits) - count, count);
  std::memcpy(g_request_name + count, ".attach", sizeof(".attach"));
}

// Where this process (its pid, its effective user) finds its request.
void resolve() {
  g_pid = os::processId();
  g_euid = os::effectiveUserId();
  formatRequestName(g_pid);
  g_resolved = false;
  if (!rendezvous::directoryPath(g_runtime_dir, g_euid, g_directory)) return;
  const size_t directory = std::strlen(g_directory);
  const size_t name = std::strlen(g_request_name);
  if (directory + 1 + name + 1 > sizeof(g_request_path)) return;
  std::memcpy(g_request_path, g_directory, directory);
  g_request_path[directory] = '/';
  std::memcpy(g_request_path + directory + 1, g_request_name, name + 1);
  g_resolved = true;
}

void closeRequest() {
  if (g_request_fd < 0) return;
  uint64_t device = 0, inode = 0;
  if (os::fileIdentity(g_request_fd, &device, &inode) == 0 && device == g_request_device &&
      inode == g_request_inode) {
    os::closeFd(g_request_fd);
  }
  g_request_fd = -1;
}

// Keeps the request open, on an fd near the top of the range (below the
// sink's kept files), where a program expecting low numbers never meets it.
void keepRequest(int fd) {
  const long limit = os::openFileLimit();
  if (limit >= 256) {
    const long high = os::duplicateAtLeast(fd, static_cast<int>(limit - 129));
    if (high >= 0) {
      os::closeFd(fd);
      fd = static_cast<int>(high);
    }
  }
  g_request_fd = fd;
  os::fileIdentity(fd, &g_request_device, &g_request_inode);
}

// Tells the attacher how it went: "<dir>.ack" beside the request, created
// as traces are (exclusively, never through a link, mode 0600). A second
// answer to the same attach (the image an exec started) finds it there.
void acknowledge(int directory_fd, const std::string& dir, const std::string& text) {
  const std::string name = dir + ".ack";
  const long fd = os::openAt(directory_fd, name.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  os::writeAll(static_cast<int>(fd), text.data(), text.size());
  os::closeFd(static_cast<int>(fd));
}

// The attach's engine: made once per attach and never freed (a thread may
// still be inside it after the detach); a few objects, and the fd table's
// chunks that its connections touched.
core::TapEngine* buildEngine(core::Config parsed) {
  auto* config = new core::Config(std::move(parsed));
  auto* ids = new core::TraceIds();
  // Not a function-local static: its guard would pull libstdc++'s exception
  // runtime into the library.
  auto* clock = new core::WallClock();
  auto* sink = new core::FilePerTapSink(
      config->path_prefix, *ids, *clock,
      core::DiskReserve::Setting{config->disk_reserve_bytes, config->disk_reserve_percent});
  auto* encoder = new core::ProtoBinaryEncoder(/*length_delimited=*/true);
  auto* probe = new core::KernelSocketProbe();
  return new core::TapEngine(*config, *clock, *sink, *encoder, *probe, *ids);
}

// The request at `fd` (in the private directory `directory_fd`), whose
// attacher holds its lock: attach, or say why not.
void honour(int directory_fd, int fd) {
  char text[kMaxRequestBytes + 1];
  const long length = os::readAt(fd, text, kMaxRequestBytes + 1, 0);
  core::AttachRequest request;
  std::string error;
  keepRequest(fd);
  if (length < 0 || static_cast<size_t>(length) > kMaxRequestBytes ||
      !core::parseAttachRequest(std::string_view(text, static_cast<size_t>(length)), &request,
                                &error)) {
    g_state = State::kRefused;  // no directory to answer in
    return;
  }
  auto refuse = [&](const std::string& why) {
    g_state = State::kRefused;
    acknowledge(directory_fd, request.dir, "refused\t" + why + "\n");
  };
  const long trace_directory =
      rendezvous::openPrivateDirectory(directory_fd, request.dir.c_str(), g_euid);
  if (trace_directory < 0) {
    return refuse("the attach's directory " + request.dir +
                  " is missing, or not a directory private to the process's user");
  }
  os::closeFd(static_cast<int>(trace_directory));
  const std::string base = std::string(g_directory) + "/" + request.dir;
  core::ConfigResult parsed = core::parseConfig(
      core::attachEnvironment(*g_environment, request, base + "/trace", base + ".config"));
  if (!parsed.error.empty()) return refuse(parsed.error);
  if (parsed.config.standby) {
    return refuse("--config: an attach needs a static_config (its admin_config would wait again)");
  }
  parsed.config.attached = true;
  core::TapEngine* engine = buildEngine(std::move(parsed.config));
  g_attached = engine;
  g_state = State::kAttached;
  publishEngine(engine);
  char name[16];
  os::processName(name);
  acknowledge(directory_fd, request.dir,
              "attached\t" + std::to_string(g_pid) + "\t" + std::string(name) + "\n");
}

// A request is there: take it if it is genuine and its attacher is alive.
void take() {
  // A vfork child shares its parent's memory: attaching is the parent's.
  if (os::processId() != g_pid) return;
  const long directory = rendezvous::openPrivateDirectory(AT_FDCWD, g_directory, g_euid);
  if (directory < 0) return;
  const int directory_fd = static_cast<int>(directory);
  const long fd =
      os::openAt(directory_fd, g_request_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd >= 0) {
    // Not its user's own private file, or stale (no lock: its attacher
    // died, and the next one replaces it): left alone.
    const bool locked = os::writeLockHolder(static_cast<int>(fd)) > 0;
    if (locked && rendezvous::isPrivateFile(static_cast<int>(fd), g_euid)) {
      honour(directory_fd, static_cast<int>(fd));
    } else {
      // Stale: watched by identity from now on (one stat per check), not
      // taken apart again every 100 ms. (Locked but not private: looked at
      // again next time; it may be a request being linked into place.)
      if (!locked && os::fileIdentity(static_cast<int>(fd), &g_stale_device, &g_stale_inode) == 0) {
        g_state = State::kStale;
      }
      os::closeFd(static_cast<int>(fd));
    }
  }
  os::closeFd(directory_fd);
}

void look() {
  if (!g_resolved) return resolve();
  if (++g_checks % kUserCheckEvery == 0) {
    if (os::effectiveUserId() != g_euid) g_resolved = false;
    return;
  }
  // The one system call of a check while nobody attaches: ENOENT.
  const long fd = os::openFile(g_request_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0) return;
  os::closeFd(static_cast<int>(fd));
  take();
}

// A stale request: still the same file? (The next attacher replaces it.)
void recheckStale() {
  uint64_t device = 0, inode = 0;
  if (os::pathIdentity(g_request_path, &device, &inode) == 0 && device == g_stale_device &&
      inode == g_stale_inode) {
    return;
  }
  g_state = State::kLooking;
  g_next_check.store(0, std::memory_order_relaxed);  // look at once, at the next call
}

// Attached (or refused): is the attacher still there?
void watch() {
  if (os::writeLockHolder(g_request_fd) > 0) return;
  if (os::processId() != g_pid) return;  // a vfork child: the parent's to do
  if (g_state == State::kAttached) {
    // Withdrawn first, so that calls from now on forward; then every
    // trace the attach started ends (streamed: its closed event; files
    // closed). The engine stays allocated: other threads may be inside.
    publishEngine(nullptr);
    g_attached->flushAll();
    g_attached = nullptr;
  }
  closeRequest();
  g_state = State::kLooking;
}

}  // namespace

TAPSHIM_LOAD_TIME void begin(const core::Environment& environment) {
  g_environment = new core::Environment(environment);
  g_runtime_dir = g_environment->get("XDG_RUNTIME_DIR").value_or(std::string_view());
  // The first check at the first hooked call (g_next_check is 0), not at
  // load, and no clock read here either: a program that makes no hooked
  // call (a shell's /bin/true) makes no system call and touches no page
  // for standby.
}

TAPSHIM_LOAD_TIME void stopLooking() { g_next_check.store(kNever, std::memory_order_relaxed); }

// With engine(): every hooked call of a standby process, and its exit.
TAPSHIM_LOAD_TIME void poll() {
  if (t_inside_shim) return;
  int64_t due = g_next_check.load(std::memory_order_relaxed);
  // At exit: not even the clock (its first read faults a page in).
  if (due == kNever) return;
  const int64_t now = coarseNow();
  if (now < due) return;
  if (!g_next_check.compare_exchange_strong(due, now + kCheckIntervalNanos,
                                            std::memory_order_relaxed)) {
    return;  // another thread makes this check
  }
  if (g_busy.exchange(true, std::memory_order_acquire)) return;
  ErrnoKeeper keep;
  t_inside_shim = true;
  if (g_state == State::kLooking) {
    look();
  } else if (g_state == State::kStale) {
    recheckStale();
  } else {
    watch();
  }
  t_inside_shim = false;
  g_busy.store(false, std::memory_order_release);
}

void onForkChild() {
  // A thread that was checking does not exist in the child: what it had
  // not finished is dropped (an attach it had published stays).
  g_busy.store(false, std::memory_order_relaxed);
  if (g_state == State::kRefused) {
    closeRequest();
    g_state = State::kLooking;
  }
  if (g_state == State::kStale) g_state = State::kLooking;  // its own pid's request
  g_pid = os::processId();
  g_resolved = false;  // its own request: resolved at its first check
  g_next_check.store(coarseNow() + kCheckIntervalNanos, std::memory_order_relaxed);
}

}  // namespace tapshim::preload::standby
