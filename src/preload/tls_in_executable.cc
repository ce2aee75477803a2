#include "preload/tls_in_executable.h"

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstdint>

#include "preload/shim.h"
#include "tap_core/base/diagnostics.h"

namespace tapshim::preload {
namespace {

struct Search {
  uintptr_t address;
  bool in_executable = false;
  bool first = true;
};

// dl_iterate_phdr visits the executable first.
int inExecutable(dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<Search*>(data);
  if (!search->first) return 1;
  search->first = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_LOAD) continue;
    const uintptr_t start = info->dlpi_addr + segment.p_vaddr;
    if (search->address >= start && search->address < start + segment.p_memsz) {
      search->in_executable = true;
    }
  }
  return 1;
}

}  // namespace

void checkTlsInExecutableOnce() {
  static std::atomic<bool> checked{false};
  if (checked.exchange(true)) return;
  for (const char* name : {"SSL_write", "gnutls_record_send"}) {
    void* symbol = dlsym(RTLD_DEFAULT, name);
    if (symbol == nullptr) continue;
    Search search{reinterpret_cast<uintptr_t>(symbol)};
    dl_iterate_phdr(&inExecutable, &search);
    if (!search.in_executable) continue;
    const core::TapEngine* active = engine();
    core::reportOnce(core::Problem::kTlsInExecutable,
                     {active != nullptr ? active->process().name : "the program",
                      " has its TLS library built into the executable (it defines ", name,
                      "): its TLS connections are traced as the encrypted bytes their sockets "
                      "carry"});
    return;
  }
}

}  // namespace tapshim::preload
