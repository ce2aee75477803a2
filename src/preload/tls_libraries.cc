#include "preload/tls_libraries.h"

#include <atomic>
#include <climits>
#include <cstring>

#include "preload/real_functions.h"

namespace tapshim::preload::tls {
namespace {

int openSslFd(const void* session) {
  static real::LibraryFunction<int (*)(const void*)> get_fd("SSL_get_fd");
  const auto next = get_fd.get();
  return next != nullptr ? next(session) : -1;  // -1 for memory BIOs and custom BIOs (curl's)
}

int wolfSslFd(const void* session) {
  static real::LibraryFunction<int (*)(const void*)> get_fd("wolfSSL_get_fd");
  const auto next = get_fd.get();
  return next != nullptr ? next(session) : -1;
}

// The operating system's fd under the PRFileDesc's layers.
int nssFd(const void* fd) {
  static real::LibraryFunction<int (*)(const void*)> native("PR_FileDesc2NativeHandle");
  const auto next = native.get();
  return next != nullptr ? next(fd) : -1;
}

// NSPR's PRIOVec.
struct NsprIoVector {
  char* base;
  int length;
};

}  // namespace

SessionFd sessionFdOf(Library library) {
  switch (library) {
    case Library::kOpenSsl:
      return &openSslFd;
    case Library::kWolfSsl:
      return &wolfSslFd;
    case Library::kNss:
      return &nssFd;
    case Library::kGnuTls:
    case Library::kMbedTls:
      break;
  }
  return nullptr;
}

const void* openSslReadBio(const void* session) {
  static real::LibraryFunction<const void* (*)(const void*)> get_bio("SSL_get_rbio");
  const auto next = get_bio.get();
  return next != nullptr ? next(session) : nullptr;
}

bool isNssSession(const void* fd) {
  // NSS names its layer "SSL" (PR_GetUniqueIdentity); the number NSPR gave
  // that name is remembered once seen, so most calls cost one lookup.
  static real::LibraryFunction<int (*)(const void*)> layer_identity("PR_GetLayersIdentity");
  static real::LibraryFunction<const char* (*)(int)> identity_name("PR_GetNameForIdentity");
  static std::atomic<int> ssl_identity{INT_MIN};
  const auto identity_of = layer_identity.get();
  if (fd == nullptr || identity_of == nullptr) return false;
  const int identity = identity_of(fd);
  const int known = ssl_identity.load(std::memory_order_relaxed);
  if (known != INT_MIN) return identity == known;
  const auto name_of = identity_name.get();
  if (identity < 0 || name_of == nullptr) return false;  // NSPR's reserved identities
  const char* name = name_of(identity);
  if (name == nullptr || std::strcmp(name, "SSL") != 0) return false;
  ssl_identity.store(identity, std::memory_order_relaxed);
  return true;
}

int nssVector(const void* pr_iovec, int32_t count, iovec* out) {
  if (pr_iovec == nullptr || count <= 0 || count > kNssMaxVector) return 0;
  const auto* vector = static_cast<const NsprIoVector*>(pr_iovec);
  for (int32_t i = 0; i < count; ++i) {
    if (vector[i].length < 0) return 0;
    out[i] = iovec{vector[i].base, static_cast<size_t>(vector[i].length)};
  }
  return count;
}

}  // namespace tapshim::preload::tls
