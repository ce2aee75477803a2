// The hooks.def rows marked TAP_HOOK_CUSTOM: variadic fcntl and the exits
// that skip destructors.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>

#include "preload/fatal_signals.h"
#include "preload/keylog.h"
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

// execl, execlp and execle take their arguments as a list; glibc turns the
// list into an array and calls execve inside libc, out of the hooks' reach.
// Collect the list here, write the traces, and call libc's array form.
constexpr size_t kMaxListArguments = 4096;

template <typename Exec>
int forwardList(const char* arg, va_list& rest, bool has_environment, Exec&& exec) {
  const char* argv[kMaxListArguments + 1];
  size_t count = 0;
  for (const char* next = arg; next != nullptr; next = va_arg(rest, const char*)) {
    if (count == kMaxListArguments) {
      errno = E2BIG;
      return -1;
    }
    argv[count++] = next;
  }
  argv[count] = nullptr;
  char* const* environment = has_environment ? va_arg(rest, char* const*) : environ;
  return exec(const_cast<char* const*>(argv), environment);
}

// Writes the traces, then calls the real exec function on `program`
// (looked up in PATH with `search_path`, as execlp does).
template <typename Exec, typename... Arguments>
int callExec(Exec next, bool search_path, const char* program, Arguments... arguments) {
  if (next == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  // Tapping, even with no engine built yet (no hooked call before this
  // one, or a vfork child: a shell's): `program` may be static.
  if (tappingConfigured()) {
    ErrnoKeeper keep;
    report::executing(program, search_path);
  }
  return next(program, arguments...);
}

[[noreturn]] void forwardExit(real::_exit_fn next, int status) {
  if (engineIfBuilt() != nullptr) report::exiting();
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
      reinterpret_cast<tapshim::preload::real::fcntl_fn>(tapshim::preload::real::fcntl64()), fd,
      cmd, argument);
}

extern "C" TAP_EXPORT void _exit(int status) {
  tapshim::preload::forwardExit(tapshim::preload::real::_exit(), status);
}

extern "C" TAP_EXPORT void _Exit(int status) {
  tapshim::preload::forwardExit(
      reinterpret_cast<tapshim::preload::real::_exit_fn>(tapshim::preload::real::_Exit()), status);
}

extern "C" TAP_EXPORT int execl(const char* path, const char* arg, ...) {
  using namespace tapshim::preload;
  va_list rest;
  va_start(rest, arg);
  const int result = forwardList(arg, rest, false, [&](char* const* argv, char* const*) {
    return callExec(real::execv(), false, path, argv);
  });
  va_end(rest);
  return result;
}

extern "C" TAP_EXPORT int execlp(const char* file, const char* arg, ...) {
  using namespace tapshim::preload;
  va_list rest;
  va_start(rest, arg);
  const int result = forwardList(arg, rest, false, [&](char* const* argv, char* const*) {
    return callExec(real::execvp(), true, file, argv);
  });
  va_end(rest);
  return result;
}

extern "C" TAP_EXPORT int execle(const char* path, const char* arg, ...) {
  using namespace tapshim::preload;
  va_list rest;
  va_start(rest, arg);
  const int result = forwardList(arg, rest, true, [&](char* const* argv, char* const* envp) {
    return callExec(real::execve(), false, path, argv, envp);
  });
  va_end(rest);
  return result;
}

// The program's own key log callback is remembered and chained behind the
// shim's (keylog.h), never replaced.
extern "C" TAP_EXPORT void SSL_CTX_set_keylog_callback(void* context, void* callback) {
  using namespace tapshim::preload;
  const real::SSL_CTX_set_keylog_callback_fn next = real::SSL_CTX_set_keylog_callback();
  if (next == nullptr) return;
  if (engine() != nullptr) {
    ErrnoKeeper keep;
    callback = keylog::onOpenSslCallbackSet(context, callback);
  }
  next(context, callback);
}

// For the executable's own SSL_CTX_set_keylog_callback (hooks.cc says why).
extern "C" __attribute__((alias("SSL_CTX_set_keylog_callback"), visibility("hidden"))) void
tapshim_hook_SSL_CTX_set_keylog_callback(void* context, void* callback);

extern "C" TAP_EXPORT void gnutls_session_set_keylog_function(void* session, void* function) {
  using namespace tapshim::preload;
  const real::gnutls_session_set_keylog_function_fn next =
      real::gnutls_session_set_keylog_function();
  if (next == nullptr) return;
  if (engine() != nullptr) {
    ErrnoKeeper keep;
    function = keylog::onGnutlsFunctionSet(session, function);
  }
  next(session, function);
}

extern "C" TAP_EXPORT void mbedtls_ssl_conf_export_keys_ext_cb(void* conf, void* callback,
                                                               void* argument) {
  using namespace tapshim::preload;
  const real::mbedtls_ssl_conf_export_keys_ext_cb_fn next =
      real::mbedtls_ssl_conf_export_keys_ext_cb();
  if (next == nullptr) return;
  if (engine() != nullptr) {
    ErrnoKeeper keep;
    keylog::onMbedTlsCallbackSet(conf, &callback, &argument);
  }
  next(conf, callback, argument);
}

// glibc declares both noexcept (__THROW).
extern "C" TAP_EXPORT int sigaction(int signal, const struct sigaction* action,
                                    struct sigaction* old_action) noexcept {
  // No engine() here: a sanitizer's runtime sets its handlers before it is
  // ready for the shim's start-up. Until tapping starts (fatal_signals::
  // install), this forwards, and install() then takes what the program set.
  return tapshim::preload::fatal_signals::sigaction(signal, action, old_action);
}

extern "C" TAP_EXPORT sighandler_t signal(int signal, sighandler_t handler) noexcept {
  return tapshim::preload::fatal_signals::signal(signal, handler);
}
