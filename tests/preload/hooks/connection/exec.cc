// execve(2) with connections open: the program image is replaced without
// running destructors, so the shim must write the buffered traces before
// (design.md: "written ... when the process ends in any way that runs code
// (exit, _exit, exec, ...)"). The new image (/bin/true) does no I/O on the
// inherited fds.
#include <unistd.h>

#include "tests/preload/hooks/harness.h"

namespace {

void exchangeThenExec(hooks::Harness& h, const char* exec_function) {
  hooks::Pair& p = h.connectPair();
  h.writeAll(p.client, "before exec");
  HOOK_CHECK(h.readExact(p.server, 11) == "before exec", "server received other bytes");
  h.writeAll(p.server, "ok");
  HOOK_CHECK(h.readExact(p.client, 2) == "ok", "client received other bytes");
  h.exit_mode = hooks::Harness::Exit::kExec;
  h.exec_function = exec_function;
}

}  // namespace

HOOK_SCENARIO(exec_open, "") { exchangeThenExec(h, "execv"); }
HOOK_SCENARIO(execve_open, "") { exchangeThenExec(h, "execve"); }
HOOK_SCENARIO(execvp_open, "") { exchangeThenExec(h, "execvp"); }
HOOK_SCENARIO(execvpe_open, "") { exchangeThenExec(h, "execvpe"); }
HOOK_SCENARIO(execl_open, "") { exchangeThenExec(h, "execl"); }
HOOK_SCENARIO(execlp_open, "") { exchangeThenExec(h, "execlp"); }
HOOK_SCENARIO(execle_open, "") { exchangeThenExec(h, "execle"); }
