// The hooks.def rows marked TAP_HOOK_CUSTOM: variadic fcntl and the exits
// that skip destructors.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>

#include "preload/real_functions.h"
#include "preload/report.h"
#include "preload/shim.h"

namespace tapshim::preload {
namespace {

// fcntl's third argument is an int or a pointer, or absent; like glibc,
// pass on whatever the caller put there as a pointer-sized value.
int forwardFcntl(real::fcntl_fn next, int fd, int cmd, void* argument) {
  if (next == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const int result = next(fd, cmd, argument);
  if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && engine() != nullptr) {
    ErrnoKeeper keep;
    report::duplicated(fd, result);
  }
  return result;
}

[[noreturn]] void forwardExit(real::_exit_fn next, int status) {
  if (engine() != nullptr) report::exiting();
  if (next != nullptr) next(status);
  for (;;) syscall(SYS_exit_group, status);
}

}  // namespace
}  // namespace tapshim::preload

#define TAP_EXPORT __attribute__((visibility("default")))

extern "C" TAP_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list arguments;
  va_start(arguments, cmd);
  void* argument = va_arg(arguments, void*);
  va_end(arguments);
  return tapshim::preload::forwardFcntl(tapshim::preload::real::fcntl(), fd, cmd, argument);
}

extern "C" TAP_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list arguments;
  va_start(arguments, cmd);
  void* argument = va_arg(arguments, void*);
  va_end(arguments);
  return tapshim::preload::forwardFcntl(
      reinterpret_cast<tapshim::preload::real::fcntl_fn>(tapshim::preload::real::fcntl64()), fd, cmd,
      argument);
}

extern "C" TAP_EXPORT void _exit(int status) {
  tapshim::preload::forwardExit(tapshim::preload::real::_exit(), status);
}

extern "C" TAP_EXPORT void _Exit(int status) {
  tapshim::preload::forwardExit(
      reinterpret_cast<tapshim::preload::real::_exit_fn>(tapshim::preload::real::_Exit()), status);
}
