// TLS inside the executable (NodeSource's node, a program linked with
// libssl.a): its OpenSSL functions are found by name in the executable and
// detoured, at load time, to the same hooks libssl.so's calls reach. The
// hooks then run with t_in_executable_copy set, and every "real" function
// they ask for (real_functions.h) is the executable's own: the trampoline
// of a detoured one, the plain definition of a helper (SSL_get_fd).
#pragma once

namespace tapshim::preload::patch {

// True while this thread runs a hook entered from the executable's own
// copy of a TLS function.
extern __thread bool t_in_executable_copy __attribute__((tls_model("initial-exec")));

// What the executable's copy offers under `name`: `listed` is false for a
// name that is not one of its TLS functions (read, write...: resolved as
// usual); `address` the trampoline or definition, or nullptr when the
// executable has none.
struct OwnCopy {
  bool listed = false;
  void* address = nullptr;
};
OwnCopy ownCopyOf(const char* name);

// Examines the executable and detours its TLS functions; once per process
// (the constructor; a forked child inherits the result, an exec'd image is
// examined afresh). Says in one line what it left alone, and why.
void patchExecutableOnce();

// After patchExecutableOnce: whether the executable's SSL_read and
// SSL_write reach the hooks now.
bool executableTlsPatched();
// After patchExecutableOnce: the executable defines no TLS function in its
// dynamic symbol table and has no static one (stripped), so a TLS library
// inside it cannot be found.
bool executableStripped();

}  // namespace tapshim::preload::patch
