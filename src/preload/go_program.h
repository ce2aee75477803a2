// Go makes its system calls itself, without libc: a Go program that loads
// the shim (cgo, external linking) has none of its network calls seen by
// a hook. Nothing would be recorded and nothing said; the shim says it.
#pragma once

namespace tapshim::preload {

// Whether the executable carries Go's build-id note (common/go_note.h).
// Reads the loaded program headers only.
bool executableIsGo();

}  // namespace tapshim::preload
