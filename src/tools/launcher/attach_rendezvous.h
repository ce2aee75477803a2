// The attacher's side of the rendezvous with a process in standby (the
// library's side is src/preload/standby.cc and rendezvous.cc):
//   <rendezvous>/                the user's private directory (0700)
//     <pid>.attach               the request, locked (fcntl) by its attacher
//     attach-<me>-<random>/      the attach's traces, streamed
//     attach-<me>-<random>.ack   the process's answer
//     attach-<me>-<random>.config  a copy of --config, readable by the process
// Everything is created 0700/0600 for the process's user (chowned to it
// when root attaches), opened without following links, and removed when
// the attach ends.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace tapshim::launcher {

// "$XDG_RUNTIME_DIR/tapshim" when `runtime_dir` (the target's) is an
// absolute path to a directory owned by `euid` with mode 0700, else
// "/tmp/tapshim-<euid>": the library's rule (preload/rendezvous.h).
std::string rendezvousPath(const std::string& runtime_dir, uid_t euid);

class AttachSession {
 public:
  // Opens (creating it if missing) the rendezvous directory of `owner`,
  // checks it is private to `owner`, and makes the attach's directory.
  static absl::StatusOr<AttachSession> open(const std::string& rendezvous, uid_t owner);

  AttachSession(AttachSession&& other) noexcept;
  AttachSession& operator=(AttachSession&&) = delete;
  ~AttachSession();  // removes whatever it created

  // Copies an Envoy tap config beside the trace directory (the process may
  // not be able to read the original).
  absl::Status copyConfig(const std::string& path);

  // Publishes `text` as <pid>.attach, locked for as long as this session
  // lives. A request another attacher holds is refused naming its pid; a
  // stale one (its lock gone: its attacher died) is replaced.
  absl::Status publishRequest(pid_t target, const std::string& text);

  // The process's answer, if it has given one: "attached\t<pid>\t<name>"
  // or "refused\t<why>".
  std::optional<std::string> answer() const;

  // Withdraws the request: the process sees the lock gone at its next
  // check and detaches.
  void withdrawRequest();

  const std::string& traceDirectory() const { return trace_directory_; }
  const std::string& name() const { return name_; }

 private:
  AttachSession() = default;

  std::string rendezvous_;
  int directory_fd_ = -1;
  uid_t owner_ = 0;
  std::string name_;             // attach-<pid>-<random>
  std::string trace_directory_;  // rendezvous/name
  std::string request_name_;     // <pid>.attach, once published
  int request_fd_ = -1;
  bool config_copied_ = false;
};

}  // namespace tapshim::launcher
