// A statically linked program: the loader never runs for it, so it cannot
// load the shim (tests/integration/test_exec_static.py).
#include <cstdio>

int main() {
  std::puts("a static program ran");
  return 0;
}
