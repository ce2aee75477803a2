#include "preload/other_copies.h"

#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/go_note.h"
#include "tap_core/base/load_time.h"

// The note: owner "tapshim" (8 bytes with its NUL), type 1, no descriptor.
// An allocated SHT_NOTE section, so that the linker puts it in a PT_NOTE
// segment, which dl_iterate_phdr shows as loaded.
asm(".pushsection .note.tapshim, \"a\", @note\n"
    ".balign 4\n"
    ".long 8\n"
    ".long 0\n"
    ".long 1\n"
    ".asciz \"tapshim\"\n"
    ".balign 4\n"
    ".popsection\n");

namespace tapshim::preload {
namespace {

constexpr char kOwner[] = "tapshim";  // with its NUL: n_namesz 8
constexpr uint32_t kType = 1;

TAPSHIM_LOAD_TIME bool holdsAddress(const dl_phdr_info& object, uintptr_t address) {
  for (int i = 0; i < object.dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = object.dlpi_phdr[i];
    if (segment.p_type != PT_LOAD) continue;
    const uintptr_t start = object.dlpi_addr + segment.p_vaddr;
    if (address >= start && address - start < segment.p_memsz) return true;
  }
  return false;
}

struct Search {
  uintptr_t self;  // an address inside this copy
  bool found = false;
};

// dl_iterate_phdr visits the objects in load order, the order in which
// the global scope is searched: stop at this copy.
TAPSHIM_LOAD_TIME int visitUntilSelf(dl_phdr_info* object, size_t, void* data) {
  auto* search = static_cast<Search*>(data);
  if (holdsAddress(*object, search->self)) return 1;
  if (isTapshimCopy(*object)) {
    search->found = true;
    return 1;
  }
  return 0;
}

}  // namespace

TAPSHIM_LOAD_TIME bool isTapshimCopy(const dl_phdr_info& object) {
  for (int i = 0; i < object.dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = object.dlpi_phdr[i];
    if (segment.p_type != PT_NOTE) continue;
    const auto isOurs = [](const Elf64_Nhdr& note, const char* name, size_t name_room) {
      return note.n_namesz == sizeof(kOwner) && note.n_type == kType &&
             name_room >= sizeof(kOwner) && std::memcmp(name, kOwner, sizeof(kOwner)) == 0;
    };
    if (common::holdsNote(reinterpret_cast<const char*>(object.dlpi_addr + segment.p_vaddr),
                          segment.p_memsz, segment.p_align >= 8 ? 8 : 4, isOurs)) {
      return true;
    }
  }
  return false;
}

TAPSHIM_LOAD_TIME bool anotherCopyLoadedFirst() {
  Search search{reinterpret_cast<uintptr_t>(&visitUntilSelf)};
  dl_iterate_phdr(&visitUntilSelf, &search);
  return search.found;
}

}  // namespace tapshim::preload
