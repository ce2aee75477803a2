// src/common/: header-only pieces that both the preload library and the
// tools use. They include only libc's headers, allocate nothing and throw
// nothing, so the preload library may carry them.
//
// ELF notes, and Go's build-id note among them: every Go linker writes a note named "Go" (padded to
// 4 bytes) of type 4 into the executable. The preload library looks for it
// in the loaded program headers, the launcher in the file, to say that a
// Go program's network calls bypass libc.
#pragma once

#include <elf.h>

#include <cstddef>
#include <cstring>

namespace tapshim::common {

// Whether the `size` bytes of a PT_NOTE segment at `notes`, whose notes
// are padded to `align` (4, or 8 for a segment aligned so), hold a note
// that `matches(header, name, name_room)` accepts; `name_room` is how many
// bytes of the segment follow the header. Elf32_Nhdr and Elf64_Nhdr are the
// same three words.
template <typename Matches>
inline bool holdsNote(const char* notes, size_t size, size_t align, Matches&& matches) {
  auto padded = [align](size_t length) { return (length + align - 1) / align * align; };
  size_t at = 0;
  while (at + sizeof(Elf64_Nhdr) <= size) {
    Elf64_Nhdr note;
    std::memcpy(&note, notes + at, sizeof(note));
    const size_t name_at = at + sizeof(note);
    if (matches(note, notes + name_at, size - name_at)) return true;
    at = name_at + padded(note.n_namesz) + padded(note.n_descsz);
  }
  return false;
}

// Whether such a segment holds Go's build-id note.
inline bool holdsGoBuildIdNote(const char* notes, size_t size, size_t align) {
  return holdsNote(notes, size, align,
                   [](const Elf64_Nhdr& note, const char* name, size_t name_room) {
                     return (note.n_namesz == 3 || note.n_namesz == 4) && name_room >= 3 &&
                            std::memcmp(name, "Go", 3) == 0 && note.n_type == 4;
                   });
}

}  // namespace tapshim::common
