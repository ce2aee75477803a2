// The shim's entries for the executable's own TLS functions: one per
// function that can be detoured, each setting t_in_executable_copy around
// a call to the hook libssl.so's callers reach (hooks.def's rows), so the
// hook's "real" function is the executable's trampoline.
#pragma once

#include <cstddef>

namespace tapshim::preload::patch {

struct Entry {
  const char* name;
  void* entry;  // where the detour jumps
};

// The functions detoured and their entries; the first four are these.
enum EntryIndex : size_t { kSslRead, kSslWrite, kSslReadEx, kSslWriteEx };
extern const Entry kEntries[];
extern const size_t kEntryCount;

// Functions the hooks call themselves (SSL_get_fd, SSL_get_rbio,
// SSL_get_SSL_CTX), found in the executable but never detoured.
extern const char* const kHelpers[];
extern const size_t kHelperCount;

}  // namespace tapshim::preload::patch
