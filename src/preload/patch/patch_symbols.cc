#include "preload/patch/patch_symbols.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>

#include <cstring>

#include "tap_core/base/load_time.h"
#include "tap_core/base/os.h"

namespace tapshim::preload::patch {
namespace {

struct Executable {
  uintptr_t base = 0;
  const ElfW(Phdr) * phdr = nullptr;
  int phnum = 0;
  bool seen = false;
};

// dl_iterate_phdr visits the executable first.
TAPSHIM_LOAD_TIME int visitExecutable(dl_phdr_info* info, size_t, void* data) {
  auto* executable = static_cast<Executable*>(data);
  executable->base = info->dlpi_addr;
  executable->phdr = info->dlpi_phdr;
  executable->phnum = info->dlpi_phnum;
  executable->seen = true;
  return 1;
}

TAPSHIM_LOAD_TIME Executable theExecutable() {
  Executable executable;
  dl_iterate_phdr(&visitExecutable, &executable);
  return executable;
}

// The least code an executable with OpenSSL (or BoringSSL, LibreSSL)
// inside can hold: SSL_write alone pulls in libssl's state machines and
// libcrypto's ciphers, 2.5 MiB of code with Debian's libssl.a even after
// --gc-sections. A tenth of that is a wide margin.
constexpr uint64_t kLeastCodeWithTls = 256 * 1024;

// The executable's code: its executable segments, from the program
// headers as loaded (no file read).
TAPSHIM_LOAD_TIME uint64_t codeBytes(const Executable& executable) {
  uint64_t bytes = 0;
  for (int i = 0; i < executable.phnum; ++i) {
    const ElfW(Phdr)& segment = executable.phdr[i];
    if (segment.p_type == PT_LOAD && (segment.p_flags & PF_X) != 0) bytes += segment.p_memsz;
  }
  return bytes;
}

TAPSHIM_LOAD_TIME uint32_t gnuHash(const char* name) {
  uint32_t hash = 5381;
  for (const auto* c = reinterpret_cast<const unsigned char*>(name); *c != 0; ++c) {
    hash = hash * 33 + *c;
  }
  return hash;
}

// The dynamic symbol table as the loader mapped it.
struct DynamicTable {
  const uint32_t* gnu_hash = nullptr;
  const ElfW(Sym) * symbols = nullptr;
  const char* strings = nullptr;

  // A defined function named `name`, or nullptr.
  const ElfW(Sym) * find(const char* name) const {
    if (gnu_hash == nullptr || symbols == nullptr || strings == nullptr) return nullptr;
    const uint32_t buckets = gnu_hash[0], symoffset = gnu_hash[1], bloom_size = gnu_hash[2],
                   bloom_shift = gnu_hash[3];
    if (buckets == 0 || bloom_size == 0) return nullptr;
    const auto* bloom = reinterpret_cast<const ElfW(Addr)*>(gnu_hash + 4);
    const uint32_t* bucket = reinterpret_cast<const uint32_t*>(bloom + bloom_size);
    const uint32_t* chain = bucket + buckets;
    const uint32_t hash = gnuHash(name);
    constexpr uint32_t kBits = sizeof(ElfW(Addr)) * 8;
    const ElfW(Addr) word = bloom[(hash / kBits) % bloom_size];
    const ElfW(Addr) mask =
        (ElfW(Addr){1} << (hash % kBits)) | (ElfW(Addr){1} << ((hash >> bloom_shift) % kBits));
    if ((word & mask) != mask) return nullptr;  // the usual answer, in a few loads
    uint32_t index = bucket[hash % buckets];
    if (index < symoffset) return nullptr;
    for (;; ++index) {
      const uint32_t chained = chain[index - symoffset];
      if ((chained | 1) == (hash | 1)) {
        const ElfW(Sym)& symbol = symbols[index];
        if (std::strcmp(strings + symbol.st_name, name) == 0 && symbol.st_shndx != SHN_UNDEF &&
            ELF64_ST_TYPE(symbol.st_info) == STT_FUNC) {
          return &symbol;
        }
      }
      if (chained & 1) return nullptr;
    }
  }
};

TAPSHIM_LOAD_TIME DynamicTable dynamicTable(const Executable& executable) {
  DynamicTable table;
  for (int i = 0; i < executable.phnum; ++i) {
    if (executable.phdr[i].p_type != PT_DYNAMIC) continue;
    const auto* entry =
        reinterpret_cast<const ElfW(Dyn)*>(executable.base + executable.phdr[i].p_vaddr);
    // The loader rewrites these entries to run-time addresses in a
    // writable dynamic section; a read-only one keeps link-time values.
    const auto address = [&](ElfW(Addr) value) {
      return value < executable.base ? value + executable.base : value;
    };
    for (; entry->d_tag != DT_NULL; ++entry) {
      if (entry->d_tag == DT_GNU_HASH) {
        table.gnu_hash = reinterpret_cast<const uint32_t*>(address(entry->d_un.d_ptr));
      } else if (entry->d_tag == DT_SYMTAB) {
        table.symbols = reinterpret_cast<const ElfW(Sym)*>(address(entry->d_un.d_ptr));
      } else if (entry->d_tag == DT_STRTAB) {
        table.strings = reinterpret_cast<const char*>(address(entry->d_un.d_ptr));
      }
    }
  }
  return table;
}

// A read-only view of part of a file.
class MappedRange {
 public:
  MappedRange(int fd, uint64_t offset, uint64_t size) {
    const uint64_t page = 4096;
    const uint64_t start = offset & ~(page - 1);
    length_ = size + (offset - start);
    void* mapped = mmap(nullptr, length_, PROT_READ, MAP_PRIVATE, fd, static_cast<off_t>(start));
    if (mapped != MAP_FAILED) {
      mapping_ = mapped;
      data_ = static_cast<const char*>(mapped) + (offset - start);
    }
  }
  ~MappedRange() {
    if (mapping_ != nullptr) munmap(mapping_, length_);
  }
  MappedRange(const MappedRange&) = delete;
  MappedRange& operator=(const MappedRange&) = delete;
  const char* data() const { return data_; }

 private:
  void* mapping_ = nullptr;
  const char* data_ = nullptr;
  size_t length_ = 0;
};

// .symtab of /proc/self/exe: kStripped when it has none.
SymbolSource searchStaticTable(const Executable& executable, const char* trigger,
                               const char* const* names, size_t count, FoundFunction* found) {
  const long fd = core::os::openFile("/proc/self/exe", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return SymbolSource::kNone;
  const int file = static_cast<int>(fd);
  SymbolSource source = SymbolSource::kStripped;
  ElfW(Ehdr) header;
  constexpr int kMaxSections = 256;  // 16 KiB of the host's stack
  if (core::os::readAt(file, &header, sizeof(header), 0) != sizeof(header) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_shentsize != sizeof(ElfW(Shdr)) || header.e_shnum == 0 ||
      header.e_shnum > kMaxSections) {
    core::os::closeFd(file);
    return source;
  }
  ElfW(Shdr) sections[kMaxSections];
  const size_t table_bytes = header.e_shnum * sizeof(ElfW(Shdr));
  if (core::os::readAt(file, sections, table_bytes, static_cast<int64_t>(header.e_shoff)) !=
      static_cast<long>(table_bytes)) {
    core::os::closeFd(file);
    return source;
  }
  for (int i = 0; i < header.e_shnum; ++i) {
    const ElfW(Shdr)& symtab = sections[i];
    if (symtab.sh_type != SHT_SYMTAB || symtab.sh_link >= header.e_shnum ||
        symtab.sh_entsize != sizeof(ElfW(Sym))) {
      continue;
    }
    const ElfW(Shdr)& strtab = sections[symtab.sh_link];
    MappedRange symbols(file, symtab.sh_offset, symtab.sh_size);
    MappedRange strings(file, strtab.sh_offset, strtab.sh_size);
    if (symbols.data() == nullptr || strings.data() == nullptr) break;
    source = SymbolSource::kNone;
    const auto* entries = reinterpret_cast<const ElfW(Sym)*>(symbols.data());
    const size_t entry_count = symtab.sh_size / sizeof(ElfW(Sym));
    // One pass for the trigger and every name: a program with no such
    // library pays one scan.
    bool any = false;
    for (size_t s = 0; s < entry_count; ++s) {
      const ElfW(Sym)& symbol = entries[s];
      if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx == SHN_UNDEF ||
          symbol.st_value == 0 || symbol.st_name >= strtab.sh_size) {
        continue;
      }
      const char* name = strings.data() + symbol.st_name;
      if (std::strcmp(name, trigger) == 0) any = true;
      for (size_t n = 0; n < count; ++n) {
        if (found[n].address == 0 && std::strcmp(name, names[n]) == 0) {
          found[n].address = executable.base + symbol.st_value;
          found[n].size = symbol.st_size;
        }
      }
    }
    if (any) {
      source = SymbolSource::kStatic;
    } else {
      for (size_t n = 0; n < count; ++n) found[n] = FoundFunction{};
    }
    break;
  }
  core::os::closeFd(file);
  return source;
}

}  // namespace

TAPSHIM_LOAD_TIME SymbolSource findInExecutable(const char* trigger, const char* const* names,
                                                size_t count, FoundFunction* found) {
  for (size_t n = 0; n < count; ++n) found[n] = FoundFunction{};
  const Executable executable = theExecutable();
  if (!executable.seen) return SymbolSource::kNone;
  // Too little code for a TLS library: nothing more is looked at (a
  // shell's /bin/true pays for no file, and no page of the names).
  if (codeBytes(executable) < kLeastCodeWithTls) return SymbolSource::kNone;
  const DynamicTable table = dynamicTable(executable);
  if (table.find(trigger) != nullptr) {
    for (size_t n = 0; n < count; ++n) {
      if (const ElfW(Sym)* symbol = table.find(names[n])) {
        found[n].address = executable.base + symbol->st_value;
        found[n].size = symbol->st_size;
      }
    }
    return SymbolSource::kDynamic;
  }
  return searchStaticTable(executable, trigger, names, count, found);
}

ExecutableExtent executableExtent() {
  const Executable executable = theExecutable();
  ExecutableExtent extent;
  for (int i = 0; i < executable.phnum; ++i) {
    const ElfW(Phdr)& segment = executable.phdr[i];
    if (segment.p_type != PT_LOAD) continue;
    const uintptr_t start = executable.base + segment.p_vaddr;
    const uintptr_t end = start + segment.p_memsz;
    if (extent.low == 0 || start < extent.low) extent.low = start;
    if (end > extent.high) extent.high = end;
  }
  return extent;
}

int segmentProtection(uintptr_t address) {
  const Executable executable = theExecutable();
  for (int i = 0; i < executable.phnum; ++i) {
    const ElfW(Phdr)& segment = executable.phdr[i];
    if (segment.p_type != PT_LOAD) continue;
    const uintptr_t start = executable.base + segment.p_vaddr;
    if (address < start || address - start >= segment.p_memsz) continue;
    return ((segment.p_flags & PF_R) ? PROT_READ : 0) |
           ((segment.p_flags & PF_W) ? PROT_WRITE : 0) | ((segment.p_flags & PF_X) ? PROT_EXEC : 0);
  }
  return 0;
}

}  // namespace tapshim::preload::patch
