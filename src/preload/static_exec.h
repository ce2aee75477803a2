// A statically linked program never loads the shim: a tapped program that
// execs one (`sh -c 'busybox wget ...'`) would lose its tapping without a
// word. The exec hooks look at the program first and say so, once per
// process.
#pragma once

namespace tapshim::preload {

// `program` is what the exec function was given: a path, or, with
// `search_path` (execvp, execvpe, execlp), a name looked up in PATH as
// those functions do. Prints one line, the first time, if it is an ELF
// executable without a program interpreter. Never changes errno.
void warnIfStaticOnce(const char* program, bool search_path);

}  // namespace tapshim::preload
