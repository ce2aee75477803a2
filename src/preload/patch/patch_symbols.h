// Finding functions in the executable by name, without dlsym (which sees
// only what the executable exports, and returns the first definition in
// the process, perhaps libssl.so's): its dynamic symbol table as loaded
// (DT_GNU_HASH, no file read), or, only when that has none of the names
// and the file is not stripped, its static symbol table (.symtab), read
// from /proc/self/exe through its section headers and only those two
// sections, never the whole file. Neither is looked at in an executable
// with too little code to hold a TLS library (256 KiB).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapshim::preload::patch {

struct FoundFunction {
  uintptr_t address = 0;  // 0: not defined in the executable
  size_t size = 0;        // the symbol's st_size (0 when unknown)
};

enum class SymbolSource : uint8_t {
  kDynamic,   // the dynamic symbol table defines `trigger`
  kStatic,    // .symtab does
  kNone,      // neither does (or too little code for one): none inside
  kStripped,  // the dynamic table does not, and there is no .symtab
};

// Looks up `trigger` first (SSL_write: the cheap question a program with
// no OpenSSL inside costs), then, when found, each of `names` in the same
// table, filling `found` (count entries).
SymbolSource findInExecutable(const char* trigger, const char* const* names, size_t count,
                              FoundFunction* found);

// The executable's loaded extent and the protection of the segment that
// holds `address` (PROT_* bits; 0 when no segment holds it).
struct ExecutableExtent {
  uintptr_t low = 0, high = 0;
};
ExecutableExtent executableExtent();
int segmentProtection(uintptr_t address);

}  // namespace tapshim::preload::patch
