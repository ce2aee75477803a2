// Two copies of the library in one process (LD_PRELOAD naming it under two
// paths: a system path and a build path, an old and a new install) are two
// objects, each exporting every hook; the first one's calls reach libc
// through the second one's. Were both to tap, each connection would get two
// traces. The first copy in the load order (the one the program's calls
// reach first) taps; a later copy stays inert and forwards every call.
//
// A copy is recognised by a note it carries in its loaded program headers
// (owner "tapshim", type 1), so no symbol is exported for it and any build
// that carries the note is recognised, not only an identical one.
#pragma once

#include <link.h>

namespace tapshim::preload {

// Whether `object` (as dl_iterate_phdr describes it) is a copy of this
// library, this one included: it carries the note.
bool isTapshimCopy(const dl_phdr_info& object);

// Whether another copy of this library was loaded before this one. Reads
// the loaded program headers only: no symbol is resolved.
bool anotherCopyLoadedFirst();

}  // namespace tapshim::preload
