#include "preload/unhooked_tls.h"

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "preload/patch/patch_executable.h"
#include "preload/shim.h"
#include "tap_core/base/diagnostics.h"
#include "tap_core/base/load_time.h"

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

// TLS libraries the shim does not hook, by a part of their file name, and
// how the line names them.
struct KnownLibrary {
  const char* file;
  const char* name;
};
constexpr KnownLibrary kUnhookedLibraries[] = {
    {"libjvm.so", "the JVM's own TLS (JSSE)"},
    {"librustls", "rustls"},
    {"libbotan", "Botan"},
    {"libs2n.so", "s2n-tls"},
};

constexpr const char* kHookedLibraries = "the OpenSSL, GnuTLS, mbedTLS, wolfSSL and NSS libraries";

struct Found {
  const char* name = nullptr;
};

int findUnhookedLibrary(dl_phdr_info* info, size_t, void* data) {
  auto* found = static_cast<Found*>(data);
  if (info->dlpi_name == nullptr) return 0;
  const std::string_view path(info->dlpi_name);
  for (const KnownLibrary& library : kUnhookedLibraries) {
    if (path.find(library.file) != std::string_view::npos) {
      found->name = library.name;
      return 1;
    }
  }
  return 0;
}

std::atomic<bool> g_tls_in_executable{false};

}  // namespace

TAPSHIM_LOAD_TIME void reportUnhookedTls(core::TapEngine& engine) {
  // Once said, the loader's list is not walked again.
  static std::atomic<bool> said{false};
  if (!engine.takeUnhookedTls() || said.exchange(true)) return;
  checkTlsInExecutableOnce();
  // node and its kind: already said, with the function it defines.
  if (g_tls_in_executable.load()) return;
  Found found;
  dl_iterate_phdr(&findUnhookedLibrary, &found);
  core::reportOnce(
      core::Problem::kUnhookedTls,
      {engine.process().name, "'s connections carry TLS that no hooked call decrypted (",
       found.name != nullptr ? found.name
       : patch::executableStripped()
           ? "a TLS library inside the executable, which is stripped: no symbol names its "
             "functions, or another one"
           : "a TLS library inside the executable, or another one",
       found.name != nullptr ? " is loaded" : "", "; tapshim hooks ", kHookedLibraries,
       "): their traces hold the encrypted bytes"});
}

void checkTlsInExecutableOnce() {
  static std::atomic<bool> checked{false};
  if (checked.exchange(true)) return;
  // Detoured at load (TAP_PATCH): its TLS reaches the hooks; a connection
  // that still carries undecrypted TLS is said by reportUnhookedTls.
  if (patch::executableTlsPatched()) return;
  for (const char* name :
       {"SSL_write", "gnutls_record_send", "mbedtls_ssl_write", "wolfSSL_write"}) {
    void* symbol = dlsym(RTLD_DEFAULT, name);
    if (symbol == nullptr) continue;
    Search search{reinterpret_cast<uintptr_t>(symbol)};
    dl_iterate_phdr(&inExecutable, &search);
    if (!search.in_executable) continue;
    g_tls_in_executable.store(true);
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
