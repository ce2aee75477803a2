// vfork(2) and a child that calls _exit (the usual "exec failed" path):
// the child shares the parent's memory, so the shim must not end the
// parent's connections there. Both traces hold everything the parent did,
// before and after the vfork, and no other trace exists.
#include <sys/wait.h>
#include <unistd.h>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(vfork_exit, "") {
  hooks::Pair& p = h.connectPair();
  h.writeAll(p.client, "before vfork");
  HOOK_CHECK(h.readExact(p.server, 12) == "before vfork", "server received other bytes");
  const pid_t pid = vfork();
  HOOK_CHECK(pid >= 0, "vfork");
  if (pid == 0) _exit(7);
  int status = 0;
  HOOK_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
  HOOK_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "child status");
  h.writeAll(p.client, "after vfork");
  HOOK_CHECK(h.readExact(p.server, 11) == "after vfork", "server received other bytes");
  h.writeAll(p.server, "ok");
  HOOK_CHECK(h.readExact(p.client, 2) == "ok", "client received other bytes");
  h.connectPair();  // a connection made after the vfork is tapped too
}

// A vfork child that closes the parent's sockets and dup2()s over one of
// them before it exits (what a hand-rolled spawn does with fds it must not
// pass on): its fd table is its own, so the parent's connections go on,
// each in one trace.
HOOK_SCENARIO(vfork_close, "") {
  hooks::Pair& p = h.connectPair();
  h.writeAll(p.client, "before vfork");
  HOOK_CHECK(h.readExact(p.server, 12) == "before vfork", "server received other bytes");
  const pid_t pid = vfork();
  HOOK_CHECK(pid >= 0, "vfork");
  if (pid == 0) {
    dup2(p.server.fd, p.client.fd);
    close(p.server.fd);
    closefrom(3);
    _exit(0);
  }
  int status = 0;
  HOOK_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
  HOOK_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status");
  h.writeAll(p.client, "after vfork");
  HOOK_CHECK(h.readExact(p.server, 11) == "after vfork", "server received other bytes");
  h.writeAll(p.server, "ok");
  HOOK_CHECK(h.readExact(p.client, 2) == "ok", "client received other bytes");
}
