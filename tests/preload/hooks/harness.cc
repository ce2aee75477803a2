// The per-hook test harness (see harness.h): loopback pairs, the model of
// the expected traces, the manifest, and main().
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace hooks {
namespace {

std::map<std::string, Scenario>& scenarios() {
  static std::map<std::string, Scenario> all;
  return all;
}

// The shim's limits, as the scenario's environment sets them (Envoy's
// default is 1024 bytes each way).
uint64_t limitFromEnvironment(const char* name) {
  const char* value = getenv(name);
  if (value == nullptr || *value == '\0') return 1024;
  return strtoull(value, nullptr, 10);
}

uint64_t limit(Kind kind) {
  static const uint64_t rx = limitFromEnvironment("TAP_MAX_BUFFERED_RX_BYTES");
  static const uint64_t tx = limitFromEnvironment("TAP_MAX_BUFFERED_TX_BYTES");
  return kind == Kind::kRead ? rx : tx;
}

size_t index(Kind kind) { return kind == Kind::kRead ? 0 : 1; }

Bytes gather(const iovec* iov, size_t count, size_t total) {
  Bytes out;
  for (size_t i = 0; i < count && out.size() < total; ++i) {
    const size_t take = std::min(iov[i].iov_len, total - out.size());
    out.append(static_cast<const char*>(iov[i].iov_base), take);
  }
  return out;
}

void addressOf(int fd, bool peer, std::string* text, int* port) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  auto* address = reinterpret_cast<sockaddr*>(&storage);
  HOOK_OK(peer ? getpeername(fd, address, &length) : getsockname(fd, address, &length));
  char buffer[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &in->sin_addr, buffer, sizeof(buffer));
    *port = ntohs(in->sin_port);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &in6->sin6_addr, buffer, sizeof(buffer));
    *port = ntohs(in6->sin6_port);
  }
  *text = buffer;
}

std::string hex(const Bytes& data) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void printEnd(const End& end, bool first) {
  printf("%s\n  {\"role\": %s, \"pid\": %d, \"local\": [%s, %d], \"peer\": [%s, %d],",
         first ? "" : ",", quoted(end.role).c_str(), static_cast<int>(end.pid),
         quoted(end.local_address).c_str(), end.local_port, quoted(end.peer_address).c_str(),
         end.peer_port);
  printf(" \"unordered\": %s, \"read_truncated\": %s, \"write_truncated\": %s, \"events\": [",
         end.unordered ? "true" : "false", end.readTruncated() ? "true" : "false",
         end.writeTruncated() ? "true" : "false");
  bool first_event = true;
  for (const ExpectedEvent& event : end.events()) {
    printf("%s\n    {\"kind\": \"%s\", \"data\": \"%s\", \"truncated\": %s, \"end_stream\": %s}",
           first_event ? "" : ",", event.kind == Kind::kRead ? "read" : "write",
           hex(event.data).c_str(), event.truncated ? "true" : "false",
           event.end_stream ? "true" : "false");
    first_event = false;
  }
  printf("]}");
}

}  // namespace

void fail(const char* file, int line, const std::string& message) {
  fprintf(stderr, "hook_driver[%d] %s:%d: %s\n", static_cast<int>(getpid()), file, line,
          message.c_str());
  fflush(stderr);
  _exit(1);
}

long checkCall(long result, const char* text, const char* file, int line) {
  if (result < 0) fail(file, line, std::string(text) + " failed: " + strerror(errno));
  return result;
}

Bytes pattern(size_t size, int seed) {
  Bytes out(size, '\0');
  uint32_t state = 2166136261u ^ static_cast<uint32_t>(seed) * 16777619u;
  for (size_t i = 0; i < size; ++i) {
    state = state * 1103515245u + 12345u;
    out[i] = static_cast<char>(state >> 16);
  }
  return out;
}

// --- End: the model of one trace (Envoy's buffered rules, envoy-tap-format.md §3.2)

void End::record(Kind kind, const Bytes& data) {
  const size_t i = index(kind);
  if (truncated_[i]) return;  // the budget ran out: events are dropped
  const uint64_t room = limit(kind) - used_[i];
  const size_t kept = static_cast<size_t>(std::min<uint64_t>(room, data.size()));
  const bool cut = kept < data.size();
  events_.push_back({kind, data.substr(0, kept), cut, false});
  used_[i] += kept;
  if (cut) truncated_[i] = true;
}

void End::received(const void* data, ssize_t n) {
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const Bytes bytes(static_cast<const char*>(data), static_cast<size_t>(n));
  in_ += bytes;
  record(Kind::kRead, bytes);
}

void End::sent(const void* data, ssize_t n) {
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const Bytes bytes(static_cast<const char*>(data), static_cast<size_t>(n));
  out_ += bytes;
  record(Kind::kWrite, bytes);
}

void End::receivedVector(const iovec* iov, size_t count, ssize_t n) {
  if (n <= 0) return;
  const Bytes bytes = gather(iov, count, static_cast<size_t>(n));
  received(bytes.data(), static_cast<ssize_t>(bytes.size()));
}

void End::sentVector(const iovec* iov, size_t count, ssize_t n) {
  if (n <= 0) return;
  const Bytes bytes = gather(iov, count, static_cast<size_t>(n));
  sent(bytes.data(), static_cast<ssize_t>(bytes.size()));
}

void End::discarded(const Bytes& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  in_ += what;
  // A gap: an empty, truncated event that uses none of the budget.
  if (!truncated_[0]) events_.push_back({Kind::kRead, Bytes(), true, false});
}

void End::sentUnseen(const Bytes& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  out_ += what;
  if (!truncated_[1]) events_.push_back({Kind::kWrite, Bytes(), true, false});
}

void End::shutDown(int how) {
  if (how == SHUT_RD) return;
  std::lock_guard<std::mutex> lock(mutex_);
  // end_stream goes on the last write, if it is the newest event and every
  // write was kept.
  if (!truncated_[1] && !events_.empty() && events_.back().kind == Kind::kWrite) {
    events_.back().end_stream = true;
  }
}

std::vector<ExpectedEvent> End::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

// --- Harness

int Harness::listenOn(int family, int* port) {
  const int fd = static_cast<int>(HOOK_OK(socket(family, SOCK_STREAM, 0)));
  sockaddr_storage storage{};
  socklen_t length;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof(*in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    length = sizeof(*in6);
  }
  HOOK_OK(bind(fd, reinterpret_cast<sockaddr*>(&storage), length));
  HOOK_OK(listen(fd, 16));
  std::string text;
  addressOf(fd, /*peer=*/false, &text, port);
  return fd;
}

Pair& Harness::connectPair(int family) {
  int port = 0;
  const int listener = listenOn(family, &port);
  const int client = static_cast<int>(HOOK_OK(socket(family, SOCK_STREAM, 0)));
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  HOOK_OK(getsockname(listener, reinterpret_cast<sockaddr*>(&storage), &length));
  HOOK_OK(connect(client, reinterpret_cast<sockaddr*>(&storage), length));
  const int server = static_cast<int>(HOOK_OK(accept(listener, nullptr, nullptr)));
  HOOK_OK(close(listener));
  return addPair(client, server);
}

Pair& Harness::addPair(int client_fd, int server_fd) {
  Pair& pair = pairs_.emplace_back();
  char suffix[24] = "";
  if (pairs_.size() > 1) snprintf(suffix, sizeof(suffix), " %zu", pairs_.size());
  for (End* end : {&pair.client, &pair.server}) {
    end->fd = end == &pair.client ? client_fd : server_fd;
    end->role = end == &pair.client ? "client" : "server";
    end->role += suffix;
    end->pid = getpid();
    addressOf(end->fd, false, &end->local_address, &end->local_port);
    addressOf(end->fd, true, &end->peer_address, &end->peer_port);
  }
  return pair;
}

End& Harness::addForkedEnd(const End& of, pid_t pid, const std::string& role) {
  End& end = extra_ends_.emplace_back();
  end.fd = -1;
  end.open = false;
  end.role = role;
  end.pid = pid;
  end.local_address = of.local_address;
  end.local_port = of.local_port;
  end.peer_address = of.peer_address;
  end.peer_port = of.peer_port;
  return end;
}

void Harness::writeAll(End& end, const Bytes& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(end.fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    HOOK_CHECK(n > 0, end.role + ": write: " + strerror(errno));
    end.sent(data.data() + done, n);
    done += static_cast<size_t>(n);
  }
}

Bytes Harness::readExact(End& end, size_t size) {
  Bytes out(size, '\0');
  size_t done = 0;
  while (done < size) {
    const ssize_t n = read(end.fd, out.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    HOOK_CHECK(n > 0, end.role + (n == 0 ? ": unexpected end of stream"
                                         : ": read: " + std::string(strerror(errno))));
    end.received(out.data() + done, n);
    done += static_cast<size_t>(n);
  }
  return out;
}

void Harness::expectEof(End& end) {
  char byte;
  const ssize_t n = read(end.fd, &byte, 1);
  HOOK_CHECK(n == 0, end.role + ": expected end of stream, read returned " + std::to_string(n));
}

void Harness::finish() {
  for (Pair& pair : pairs_) {
    if (!pair.check_transfer) continue;
    HOOK_CHECK(pair.client.allSent() == pair.server.allReceived(),
               pair.server.role + " did not receive exactly what " + pair.client.role + " sent");
    HOOK_CHECK(pair.server.allSent() == pair.client.allReceived(),
               pair.client.role + " did not receive exactly what " + pair.server.role + " sent");
  }
  if (exit_mode == Exit::kClose) {
    for (Pair& pair : pairs_) {
      for (End* end : {&pair.client, &pair.server}) {
        if (end->open) HOOK_OK(close(end->fd));
        end->open = false;
      }
    }
  }
  char name[17] = {};
  prctl(PR_GET_NAME, name);
  printf("{\"pid\": %d, \"process_name\": %s, \"traces\": [", static_cast<int>(getpid()),
         quoted(name).c_str());
  bool first = true;
  for (const Pair& pair : pairs_) {
    for (const End* end : {&pair.client, &pair.server}) {
      if (!end->expect_trace) continue;
      printEnd(*end, first);
      first = false;
    }
  }
  for (const End& end : extra_ends_) {
    if (!end.expect_trace) continue;
    printEnd(end, first);
    first = false;
  }
  printf("\n]}\n");
  fflush(stdout);
  switch (exit_mode) {
    case Exit::kClose:
    case Exit::kExit:
      exit(0);
    case Exit::kUnderscoreExit:
      _exit(0);
    case Exit::kUnderscoreCapitalExit:
      _Exit(0);
    case Exit::kExec: {
      // Every exec entry point: glibc's list forms and execvp call execve
      // inside libc, so each needs its own hook.
      char* const arguments[] = {const_cast<char*>("/bin/true"), nullptr};
      const std::string& how = exec_function;
      if (how == "execv") execv("/bin/true", arguments);
      if (how == "execve") execve("/bin/true", arguments, environ);
      if (how == "execvp") execvp("true", arguments);
      if (how == "execvpe") execvpe("true", arguments, environ);
      if (how == "execl") execl("/bin/true", "/bin/true", static_cast<char*>(nullptr));
      if (how == "execlp") execlp("true", "true", static_cast<char*>(nullptr));
      if (how == "execle") execle("/bin/true", "/bin/true", static_cast<char*>(nullptr), environ);
      fail(__FILE__, __LINE__, how + " /bin/true: " + strerror(errno));
    }
  }
  _exit(0);
}

Registrar::Registrar(const char* name, const char* env, void (*run)(Harness&)) {
  scenarios()[name] = Scenario{name, env, run};
}

}  // namespace hooks

int main(int argc, char** argv) {
  using hooks::scenarios;
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (const auto& [name, scenario] : scenarios()) printf("%s\n", name.c_str());
    return 0;
  }
  const bool env_only = argc == 3 && strcmp(argv[1], "--env") == 0;
  const char* name = env_only ? argv[2] : (argc == 2 ? argv[1] : nullptr);
  if (name == nullptr) {
    fprintf(stderr, "usage: %s --list | --env NAME | NAME\n", argv[0]);
    return 2;
  }
  const auto found = scenarios().find(name);
  if (found == scenarios().end()) {
    fprintf(stderr, "%s: no scenario named '%s' (see --list)\n", argv[0], name);
    return 2;
  }
  if (env_only) {
    printf("%s\n", found->second.env);
    return 0;
  }
  // A peer that went away must show as EPIPE, not kill the driver.
  signal(SIGPIPE, SIG_IGN);
  hooks::Harness harness;
  found->second.run(harness);
  harness.finish();
}
