#include "preload/static_exec.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>

#include <atomic>
#include <cstring>
#include <string_view>

#include "tap_core/base/diagnostics.h"
#include "tap_core/base/os.h"

extern char** environ;

namespace tapshim::preload {
namespace {

namespace os = core::os;

// An ELF executable (x86-64's 64-bit form) without PT_INTERP: the loader,
// and so LD_PRELOAD, never runs for it. A script, a dynamic program or a
// file that cannot be read is not one.
bool isStaticElf(const char* path) {
  const long fd = os::openFile(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return false;
  bool is_static = false;
  Elf64_Ehdr header;
  if (os::readAt(static_cast<int>(fd), &header, sizeof(header), 0) ==
          static_cast<long>(sizeof(header)) &&
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 && header.e_ident[EI_CLASS] == ELFCLASS64 &&
      (header.e_type == ET_EXEC || header.e_type == ET_DYN) &&
      header.e_phentsize == sizeof(Elf64_Phdr) && header.e_phnum > 0 && header.e_phnum <= 64) {
    Elf64_Phdr segments[64];
    const long size = static_cast<long>(sizeof(Elf64_Phdr) * header.e_phnum);
    if (os::readAt(static_cast<int>(fd), segments, static_cast<size_t>(size),
                   static_cast<int64_t>(header.e_phoff)) == size) {
      is_static = true;
      for (int i = 0; i < header.e_phnum; ++i) {
        if (segments[i].p_type == PT_INTERP) is_static = false;
      }
    }
  }
  os::closeFd(static_cast<int>(fd));
  return is_static;
}

// The program's PATH, or glibc's default when it has none.
std::string_view searchPath() {
  if (environ != nullptr) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (std::strncmp(*entry, "PATH=", 5) == 0) return *entry + 5;
    }
  }
  return "/bin:/usr/bin";
}

// The file execvp would run: the first PATH entry holding `name` that can
// be opened. False when there is none (exec will fail anyway).
bool findInPath(const char* name, char (&found)[PATH_MAX]) {
  const size_t name_length = std::strlen(name);
  std::string_view rest = searchPath();
  while (true) {
    const size_t colon = rest.find(':');
    std::string_view directory = rest.substr(0, colon);
    if (directory.empty()) directory = ".";  // an empty entry is the current directory
    // Written so that no sum can wrap (GCC cannot tell that it does not).
    if (directory.size() < sizeof(found) - 1 &&
        name_length < sizeof(found) - 1 - directory.size()) {
      std::memcpy(found, directory.data(), directory.size());
      found[directory.size()] = '/';
      std::memcpy(found + directory.size() + 1, name, name_length + 1);
      const long fd = os::openFile(found, O_RDONLY | O_CLOEXEC, 0);
      if (fd >= 0) {
        os::closeFd(static_cast<int>(fd));
        return true;
      }
    }
    if (colon == std::string_view::npos) return false;
    rest.remove_prefix(colon + 1);
  }
}

}  // namespace

void warnIfStaticOnce(const char* program, bool search_path) {
  static std::atomic<bool> said{false};
  if (program == nullptr || *program == '\0' || said.load(std::memory_order_relaxed)) return;
  char found[PATH_MAX];
  const char* path = program;
  if (search_path && std::strchr(program, '/') == nullptr) {
    if (!findInPath(program, found)) return;
    path = found;
  }
  if (!isStaticElf(path) || said.exchange(true)) return;
  core::reportOnce(core::Problem::kStaticExec,
                   {path,
                    " is statically linked: it cannot load tapshim, so its connections "
                    "(and those of what it starts) are not tapped"});
}

}  // namespace tapshim::preload
