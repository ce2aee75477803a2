// fork(2): parent and child both use the inherited connection. The child's
// bytes go into a trace of its own (its pid, a new trace id, the same
// addresses); the parent's trace holds none of them; nothing is written
// twice. The child either closes the connection or _exits with it open.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "tests/preload/hooks/harness.h"

namespace {

const hooks::Bytes kFromChild = "from the child";
const hooks::Bytes kToChild = "to child";

// The child: one send and one MSG_WAITALL recv, so that the parent knows
// its events. Exit status 0 if every byte was as expected.
enum class ChildEnd { kCloses, kUnderscoreExit, kExit };

[[noreturn]] void child(const hooks::Pair& p, ChildEnd how) {
  int status = 0;
  if (send(p.client.fd, kFromChild.data(), kFromChild.size(), 0) !=
      static_cast<ssize_t>(kFromChild.size())) {
    status = 3;
  }
  char buffer[16] = {};
  if (recv(p.client.fd, buffer, kToChild.size(), MSG_WAITALL) !=
          static_cast<ssize_t>(kToChild.size()) ||
      hooks::Bytes(buffer, kToChild.size()) != kToChild) {
    status = 4;
  }
  if (how == ChildEnd::kCloses) {
    // The server end was inherited but never used here: no trace for it.
    if (close(p.client.fd) != 0 || close(p.server.fd) != 0) status = 5;
  }
  if (how == ChildEnd::kExit) exit(status);  // runs the shim's destructor
  _exit(status);
}

void forkScenario(hooks::Harness& h, ChildEnd how) {
  hooks::Pair& p = h.connectPair();
  p.check_transfer = false;  // three parties: checked below
  h.writeAll(p.client, "parent 1");
  HOOK_CHECK(h.readExact(p.server, 8) == "parent 1", "server received other bytes");

  fflush(stdout);
  fflush(stderr);
  const pid_t pid = fork();
  HOOK_CHECK(pid >= 0, "fork");
  if (pid == 0) child(p, how);

  HOOK_CHECK(h.readExact(p.server, kFromChild.size()) == kFromChild, "server: child's bytes");
  h.writeAll(p.server, kToChild);
  int status = 0;
  HOOK_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
  HOOK_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "child failed with status " + std::to_string(status));
  hooks::End& in_child = h.addForkedEnd(p.client, pid, "child client");
  in_child.sent(kFromChild.data(), static_cast<ssize_t>(kFromChild.size()));
  in_child.received(kToChild.data(), static_cast<ssize_t>(kToChild.size()));

  h.writeAll(p.client, "parent 2");
  HOOK_CHECK(h.readExact(p.server, 8) == "parent 2", "server received other bytes");
  h.writeAll(p.server, "to parent");
  HOOK_CHECK(h.readExact(p.client, 9) == "to parent", "client received other bytes");
  HOOK_CHECK(p.server.allReceived() == "parent 1" + kFromChild + "parent 2", "server's bytes");
  HOOK_CHECK(p.client.allSent() == "parent 1parent 2", "client's bytes");
}

}  // namespace

HOOK_SCENARIO(fork, "") { forkScenario(h, ChildEnd::kCloses); }

// The child _exits, or exits, with the connection still open.
HOOK_SCENARIO(fork_child_exits_open, "") { forkScenario(h, ChildEnd::kUnderscoreExit); }
HOOK_SCENARIO(fork_child_exit, "") { forkScenario(h, ChildEnd::kExit); }
