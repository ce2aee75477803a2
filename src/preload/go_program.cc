#include "preload/go_program.h"

#include <elf.h>
#include <link.h>

#include "common/go_note.h"
#include "tap_core/base/load_time.h"

namespace tapshim::preload {
namespace {

// dl_iterate_phdr visits the executable first: its note segments, as
// loaded.
TAPSHIM_LOAD_TIME int visitExecutable(dl_phdr_info* info, size_t, void* data) {
  auto* is_go = static_cast<bool*>(data);
  for (int i = 0; i < info->dlpi_phnum && !*is_go; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_NOTE) continue;
    *is_go =
        common::holdsGoBuildIdNote(reinterpret_cast<const char*>(info->dlpi_addr + segment.p_vaddr),
                                   segment.p_memsz, segment.p_align >= 8 ? 8 : 4);
  }
  return 1;  // the executable only
}

}  // namespace

TAPSHIM_LOAD_TIME bool executableIsGo() {
  bool is_go = false;
  dl_iterate_phdr(&visitExecutable, &is_go);
  return is_go;
}

}  // namespace tapshim::preload
