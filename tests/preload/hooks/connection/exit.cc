// _exit(2), _Exit(2) and exit(3) with connections still open: every trace
// is written all the same.
#include "tests/preload/hooks/harness.h"

namespace {

void openAndUse(hooks::Harness& h) {
  hooks::Pair& p = h.connectPair();
  h.writeAll(p.client, "before exit");
  HOOK_CHECK(h.readExact(p.server, 11) == "before exit", "server received other bytes");
  h.writeAll(p.server, "bye");
  HOOK_CHECK(h.readExact(p.client, 3) == "bye", "client received other bytes");
  hooks::Pair& quiet = h.connectPair();  // and one without data
  (void)quiet;
}

}  // namespace

HOOK_SCENARIO(underscore_exit, "") {
  openAndUse(h);
  h.exit_mode = hooks::Harness::Exit::kUnderscoreExit;
}

HOOK_SCENARIO(underscore_capital_exit, "") {
  openAndUse(h);
  h.exit_mode = hooks::Harness::Exit::kUnderscoreCapitalExit;
}

HOOK_SCENARIO(exit_open, "") {
  openAndUse(h);
  h.exit_mode = hooks::Harness::Exit::kExit;
}
