// src/common/: header-only pieces that both the preload library and the
// tools use. They include only libc's headers, allocate nothing and throw
// nothing, so the preload library may carry them.
//
// Go's build-id note: every Go linker writes a note named "Go" (padded to
// 4 bytes) of type 4 into the executable. The preload library looks for it
// in the loaded program headers, the launcher in the file, to say that a
// Go program's network calls bypass libc.
#pragma once

#include <elf.h>

#include <cstddef>
#include <cstring>

namespace tapshim::common {

// Whether the `size` bytes of a PT_NOTE segment at `notes`, whose notes
// are padded to `align` (4, or 8 for a segment aligned so), hold Go's
// build-id note. Elf32_Nhdr and Elf64_Nhdr are the same three words.
inline bool holdsGoBuildIdNote(const char* notes, size_t size, size_t align) {
  auto padded = [align](size_t length) { return (length + align - 1) / align * align; };
  size_t at = 0;
  while (at + sizeof(Elf64_Nhdr) <= size) {
    Elf64_Nhdr note;
    std::memcpy(&note, notes + at, sizeof(note));
    const size_t name_at = at + sizeof(note);
    if ((note.n_namesz == 3 || note.n_namesz == 4) && name_at + 3 <= size &&
        std::memcmp(notes + name_at, "Go", 3) == 0 && note.n_type == 4) {
      return true;
    }
    at = name_at + padded(note.n_namesz) + padded(note.n_descsz);
  }
  return false;
}

}  // namespace tapshim::common
