#include "tools/launcher/program_check.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "common/go_note.h"

namespace tapshim::launcher {
namespace {

bool readAt(int fd, void* buffer, size_t size, off_t offset) {
  return pread(fd, buffer, size, offset) == static_cast<ssize_t>(size);
}

// What the launcher needs to know of an ELF executable.
struct ElfFacts {
  bool has_interpreter = false;  // PT_INTERP: the loader (and LD_PRELOAD) runs
  bool go = false;               // Go's build-id note: a Go program
};

// The facts of the ELF file on `fd`; nothing if it is not an ELF
// executable this code understands.
template <typename Ehdr, typename Phdr>
std::optional<ElfFacts> readFacts(int fd) {
  Ehdr header;
  if (!readAt(fd, &header, sizeof(header), 0)) return std::nullopt;
  if (header.e_type != ET_EXEC && header.e_type != ET_DYN) return std::nullopt;
  if (header.e_phentsize != sizeof(Phdr) || header.e_phnum == 0 || header.e_phnum > 4096) {
    return std::nullopt;
  }
  std::vector<Phdr> headers(header.e_phnum);
  if (!readAt(fd, headers.data(), headers.size() * sizeof(Phdr),
              static_cast<off_t>(header.e_phoff))) {
    return std::nullopt;
  }
  ElfFacts facts;
  for (const Phdr& program_header : headers) {
    if (program_header.p_type == PT_INTERP) facts.has_interpreter = true;
    if (program_header.p_type == PT_NOTE && program_header.p_filesz <= 65536 && !facts.go) {
      std::vector<char> notes(program_header.p_filesz);
      facts.go =
          readAt(fd, notes.data(), notes.size(), static_cast<off_t>(program_header.p_offset)) &&
          common::holdsGoBuildIdNote(notes.data(), notes.size(),
                                     program_header.p_align >= 8 ? 8 : 4);
    }
  }
  return facts;
}

std::optional<ElfFacts> elfFacts(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  unsigned char ident[EI_NIDENT];
  std::optional<ElfFacts> result;
  if (readAt(fd, ident, sizeof(ident), 0) && std::memcmp(ident, ELFMAG, SELFMAG) == 0) {
    if (ident[EI_CLASS] == ELFCLASS64) {
      result = readFacts<Elf64_Ehdr, Elf64_Phdr>(fd);
    } else if (ident[EI_CLASS] == ELFCLASS32) {
      result = readFacts<Elf32_Ehdr, Elf32_Phdr>(fd);
    }
  }
  close(fd);
  return result;
}

}  // namespace

std::optional<std::string> resolveCommand(const std::string& command, const char* path_variable) {
  if (command.empty()) return std::nullopt;
  if (command.find('/') != std::string::npos) return command;
  // execvp's default search path when PATH is unset.
  const std::string_view search = path_variable != nullptr ? path_variable : "/bin:/usr/bin";
  size_t start = 0;
  while (start <= search.size()) {
    size_t end = search.find(':', start);
    if (end == std::string_view::npos) end = search.size();
    // An empty entry is the current directory.
    const std::string candidate =
        end > start ? std::string(search.substr(start, end - start)) + "/" + command : command;
    struct stat info;
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<std::string> untappableReason(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  if (((info.st_mode & S_ISUID) != 0 && info.st_uid != geteuid()) ||
      ((info.st_mode & S_ISGID) != 0 && info.st_gid != getegid())) {
    return path + " is set-user-ID or set-group-ID: the loader ignores LD_PRELOAD for it, " +
           "nothing will be tapped";
  }
  // File capabilities (setcap) raise a non-root caller's privileges: the
  // loader runs in secure mode as for set-user-ID. (Root gains nothing.)
  if (geteuid() != 0 && getxattr(path.c_str(), "security.capability", nullptr, 0) > 0) {
    return path + " has file capabilities: the loader ignores LD_PRELOAD for it, " +
           "nothing will be tapped";
  }
  const std::optional<ElfFacts> facts = elfFacts(path);
  if (facts.has_value() && !facts->has_interpreter) {
    return path + " is statically linked: LD_PRELOAD cannot reach it, nothing will be tapped";
  }
  if (facts.has_value() && facts->go) {
    return path + " is a Go program: its network calls are Go's own system calls, which bypass " +
           "libc, so they will not be tapped";
  }
  return std::nullopt;
}

}  // namespace tapshim::launcher
