// The harness of the per-hook tests: one small snippet per hooked function
// (tests/preload/hooks/{data,connection}/<family>.cc, in the spirit of libfaketime's
// test/snippets).
//
// A snippet is a scenario function registered with HOOK_SCENARIO. It gets
// loopback TCP pairs from the harness (both ends in this process, so the
// shim taps each connection twice: the client via connect, the server via
// accept), moves bytes with the hook under test, and tells each End what
// every call did. From that the End models the trace the shim must write
// (Envoy's buffered rules: one event per successful call, the byte limits
// of TAP_MAX_BUFFERED_RX/TX_BYTES, truncation, end_stream).
//
// The driver checks by itself that the bytes arrived (what one end sent is
// what the other received), so it fails without the shim too. At the end
// it prints a JSON manifest on stdout: one entry per expected trace (pid,
// local and peer address, exact events, truncation flags). run_hook_test.py
// runs the driver under LD_PRELOAD and compares the manifest with the trace
// files, decoded by libprotobuf.
//
//   hook_driver --list          scenario names
//   hook_driver --env NAME      extra TAP_* variables NAME needs, one a line
//   hook_driver NAME            runs NAME (under the shim), prints the manifest
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace hooks {

using Bytes = std::string;

// Stops the driver with a message naming the snippet line (exit status 1).
[[noreturn]] void fail(const char* file, int line, const std::string& message);
#define HOOK_CHECK(condition, message)                                              \
  do {                                                                              \
    if (!(condition))                                                               \
      ::hooks::fail(__FILE__, __LINE__,                                             \
                    std::string("check failed: ") + #condition + ": " + (message)); \
  } while (0)
// A call that must succeed (returns >= 0); names errno otherwise.
#define HOOK_OK(call) ::hooks::checkCall((call), #call, __FILE__, __LINE__)
long checkCall(long result, const char* text, const char* file, int line);

// Test data: `size` bytes, different for each `seed`, never all alike.
Bytes pattern(size_t size, int seed);

enum class Kind { kRead, kWrite };

struct ExpectedEvent {
  Kind kind;
  Bytes data;
  bool truncated = false;
  bool end_stream = false;
};

// One socket of a tapped connection, and the trace expected for it.
class End {
 public:
  int fd = -1;
  std::string role;           // "client", "server", "child client", ...
  std::string local_address;  // numeric, as inet_ntop writes it
  int local_port = 0;
  std::string peer_address;
  int peer_port = 0;
  pid_t pid = 0;           // the process whose trace this is
  bool open = true;        // the harness closes open fds at the end
  bool unordered = false;  // several threads record: compare as a multiset
  bool expect_trace = true;

  // The program received `n` bytes at `data` in one call (n <= 0: no event).
  void received(const void* data, ssize_t n);
  // The program sent `n` bytes from `data` in one call (n <= 0: no event).
  void sent(const void* data, ssize_t n);
  // As above, for a call that scattered or gathered `n` bytes over `iov`.
  void receivedVector(const iovec* iov, size_t count, ssize_t n);
  void sentVector(const iovec* iov, size_t count, ssize_t n);
  // The program consumed bytes it never saw (recv with MSG_TRUNC): `what`
  // is what the peer had sent there; the trace shows a gap.
  void discarded(const Bytes& what);
  // The program had the kernel send `what` without seeing it (splice).
  void sentUnseen(const Bytes& what);
  // shutdown(fd, how) succeeded.
  void shutDown(int how);
  // The snippet closed the fd itself (close, close_range, closefrom, ...).
  void closedBySnippet() { open = false; }

  // Everything this end received / sent, whether recorded or not.
  const Bytes& allReceived() const { return in_; }
  const Bytes& allSent() const { return out_; }
  // The modelled trace.
  std::vector<ExpectedEvent> events() const;
  bool readTruncated() const { return truncated_[0]; }
  bool writeTruncated() const { return truncated_[1]; }

 private:
  void record(Kind kind, const Bytes& data);

  mutable std::mutex mutex_;
  Bytes in_, out_;
  std::vector<ExpectedEvent> events_;
  uint64_t used_[2] = {0, 0};
  bool truncated_[2] = {false, false};
};

// Both ends of one loopback connection.
struct Pair {
  End client;
  End server;
  bool check_transfer = true;  // client sent == server received and back
};

class Harness {
 public:
  // A listening socket on the loopback of `family` (port chosen by the
  // kernel); its port is returned in *port.
  int listenOn(int family, int* port);
  // socket + connect + accept on a fresh listener (closed afterwards).
  Pair& connectPair(int family = AF_INET);
  // Records a connection the snippet made itself: reads both ends'
  // addresses from the kernel.
  Pair& addPair(int client_fd, int server_fd);
  // An expected trace of `of`'s connection written by process `pid` (a
  // forked child): same addresses, its own events.
  End& addForkedEnd(const End& of, pid_t pid, const std::string& role);

  // Helpers that move bytes with plain write/read and record each call.
  void writeAll(End& end, const Bytes& data);
  Bytes readExact(End& end, size_t size);
  void expectEof(End& end);

  // How the driver ends after printing the manifest.
  enum class Exit { kClose, kExit, kUnderscoreExit, kUnderscoreCapitalExit, kExec };
  Exit exit_mode = Exit::kClose;
  // With Exit::kExec: which exec function replaces the image.
  std::string exec_function = "execv";

  // Runs the scenario's epilogue: closes open fds (unless an exit mode
  // leaves them open), checks the transfers, prints the manifest, exits.
  [[noreturn]] void finish();

 private:
  std::deque<Pair> pairs_;
  std::deque<End> extra_ends_;
};

struct Scenario {
  const char* name;
  const char* env;  // "KEY=VALUE KEY=VALUE" for run_hook_test.py, or ""
  void (*run)(Harness&);
};

struct Registrar {
  Registrar(const char* name, const char* env, void (*run)(Harness&));
};

#define HOOK_SCENARIO(name, env)                                            \
  static void name##_scenario(::hooks::Harness& h);                         \
  static ::hooks::Registrar name##_registrar(#name, env, &name##_scenario); \
  static void name##_scenario([[maybe_unused]] ::hooks::Harness& h)

}  // namespace hooks
