#include "preload/go_program.h"

#include <elf.h>
#include <link.h>

#include <cstring>

namespace tapshim::preload {
namespace {

size_t padded(size_t size, size_t align) { return (size + align - 1) / align * align; }

bool holdsGoNote(const char* notes, size_t size, size_t align) {
  size_t at = 0;
  while (at + sizeof(ElfW(Nhdr)) <= size) {
    ElfW(Nhdr) note;
    std::memcpy(&note, notes + at, sizeof(note));
    const size_t name_at = at + sizeof(note);
    if ((note.n_namesz == 3 || note.n_namesz == 4) && name_at + 3 <= size &&
        std::memcmp(notes + name_at, "Go", 3) == 0 && note.n_type == 4) {
      return true;
    }
    at = name_at + padded(note.n_namesz, align) + padded(note.n_descsz, align);
  }
  return false;
}

// dl_iterate_phdr visits the executable first: its note segments, as
// loaded.
int visitExecutable(dl_phdr_info* info, size_t, void* data) {
  auto* is_go = static_cast<bool*>(data);
  for (int i = 0; i < info->dlpi_phnum && !*is_go; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_NOTE) continue;
    *is_go = holdsGoNote(reinterpret_cast<const char*>(info->dlpi_addr + segment.p_vaddr),
                         segment.p_memsz, segment.p_align >= 8 ? 8 : 4);
  }
  return 1;  // the executable only
}

}  // namespace

bool executableIsGo() {
  bool is_go = false;
  dl_iterate_phdr(&visitExecutable, &is_go);
  return is_go;
}

}  // namespace tapshim::preload
