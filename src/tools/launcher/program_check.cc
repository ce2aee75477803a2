#include "tools/launcher/program_check.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <string_view>
#include <vector>

namespace tapshim::launcher {
namespace {

bool readAt(int fd, void* buffer, size_t size, off_t offset) {
  return pread(fd, buffer, size, offset) == static_cast<ssize_t>(size);
}

// Whether the ELF file on `fd` has a PT_INTERP program header; nothing
// if it is not an ELF executable this code understands.
template <typename Ehdr, typename Phdr>
std::optional<bool> hasInterpreter(int fd) {
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
  for (const Phdr& program_header : headers) {
    if (program_header.p_type == PT_INTERP) return true;
  }
  return false;
}

std::optional<bool> elfHasInterpreter(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  unsigned char ident[EI_NIDENT];
  std::optional<bool> result;
  if (readAt(fd, ident, sizeof(ident), 0) && std::memcmp(ident, ELFMAG, SELFMAG) == 0) {
    if (ident[EI_CLASS] == ELFCLASS64) {
      result = hasInterpreter<Elf64_Ehdr, Elf64_Phdr>(fd);
    } else if (ident[EI_CLASS] == ELFCLASS32) {
      result = hasInterpreter<Elf32_Ehdr, Elf32_Phdr>(fd);
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
  if (elfHasInterpreter(path) == false) {
    return path + " is statically linked: LD_PRELOAD cannot reach it, nothing will be tapped";
  }
  return std::nullopt;
}

}  // namespace tapshim::launcher
