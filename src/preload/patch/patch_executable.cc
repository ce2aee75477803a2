#include "preload/patch/patch_executable.h"

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <string_view>

#include "preload/patch/patch_detour.h"
#include "preload/patch/patch_entries.h"
#include "preload/patch/patch_symbols.h"
#include "tap_core/base/diagnostics.h"
#include "tap_core/base/load_time.h"
#include "tap_core/base/os.h"

namespace tapshim::preload::patch {

__thread bool t_in_executable_copy = false;

namespace {

constexpr size_t kMaxNames = 32;
// Filled once, in the constructor, before any thread reads them.
TAPSHIM_LARGE_TABLE const char* g_names[kMaxNames];
TAPSHIM_LARGE_TABLE void* g_addresses[kMaxNames];
size_t g_count = 0;
bool g_tls_patched = false;
bool g_stripped = false;

// How much of a function's start is decoded, and of its body scanned.
constexpr size_t kPrologueBytes = 32;
constexpr size_t kMaxBodyBytes = size_t{1} << 20;

// One line, built piece by piece: the refusals of one examination.
class Line {
 public:
  void add(std::string_view text) {
    const size_t room = sizeof(text_) - length_;
    const size_t n = std::min(room, text.size());
    std::memcpy(text_ + length_, text.data(), n);
    length_ += n;
  }
  void addHex(uint64_t value) {
    char digits[20];
    auto [end, error] = std::to_chars(digits, digits + sizeof(digits), value, 16);
    add("0x");
    add(std::string_view(digits, static_cast<size_t>(end - digits)));
  }
  std::string_view text() const { return {text_, length_}; }
  bool empty() const { return length_ == 0; }

 private:
  char text_[1024];
  size_t length_ = 0;
};

struct Prepared {
  size_t index;
  uintptr_t function;
  uint8_t bytes[kPrologueBytes];
  size_t displaced;
  uintptr_t trampoline;
  uintptr_t stub;
};

// The process's threads, from /proc/self/stat (its 20th field); 0 when
// unknown. Code is only rewritten while the process has one thread: a
// library loaded after start-up (dlopen) finds others running.
long threadCount() {
  const long fd = core::os::openFile("/proc/self/stat", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return 0;
  char text[1024];
  const long got = core::os::readAt(static_cast<int>(fd), text, sizeof(text) - 1, 0);
  core::os::closeFd(static_cast<int>(fd));
  if (got <= 0) return 0;
  const std::string_view stat(text, static_cast<size_t>(got));
  // The command name, in parentheses, may hold spaces: count after it.
  size_t at = stat.rfind(')');
  if (at == std::string_view::npos) return 0;
  for (int field = 2; field < 20; ++field) {
    at = stat.find(' ', at + 1);
    if (at == std::string_view::npos) return 0;
  }
  long threads = 0;
  std::from_chars(stat.data() + at + 1, stat.data() + stat.size(), threads);
  return threads;
}

void reportCannotPatch(const char* process, std::string_view why) {
  core::reportOnce(core::Problem::kTlsPatch,
                   {process, "'s built-in OpenSSL cannot be patched (", why,
                    "): its TLS connections are traced as the encrypted bytes their sockets "
                    "carry"});
}

TAPSHIM_LOAD_TIME void examineAndPatch() {
  const char* names[kMaxNames];
  FoundFunction found[kMaxNames];
  size_t count = 0;
  for (size_t i = 0; i < kEntryCount && count < kMaxNames; ++i) names[count++] = kEntries[i].name;
  for (size_t i = 0; i < kHelperCount && count < kMaxNames; ++i) names[count++] = kHelpers[i];
  const SymbolSource source = findInExecutable("SSL_write", names, count, found);
  if (source == SymbolSource::kStripped) g_stripped = true;
  if (source != SymbolSource::kDynamic && source != SymbolSource::kStatic) return;
  // Helpers, and entries found but not detoured, are called as they are.
  for (size_t i = 0; i < count; ++i) {
    g_names[i] = names[i];
    g_addresses[i] = reinterpret_cast<void*>(found[i].address);
  }
  g_count = count;
  char process[16];
  core::os::processName(process);
#if defined(__x86_64__)
  if (threadCount() != 1) {
    reportCannotPatch(process, "other threads run already: the library was loaded after start-up");
    return;
  }
  Line refused;
  const auto refuse = [&](const char* name, std::string_view why) {
    refused.add(refused.empty() ? "" : "; ");
    refused.add(name);
    refused.add(" (");
    refused.add(why);
    refused.add(")");
  };
  const ExecutableExtent extent = executableExtent();
  TrampolinePage page;
  if (!page.allocate(extent.low, extent.high)) {
    reportCannotPatch(process, "no free memory within reach of a 32-bit jump");
    return;
  }
  Prepared prepared[kMaxNames];
  size_t ready = 0;
  for (size_t i = 0; i < kEntryCount; ++i) {
    if (found[i].address == 0) continue;
    const auto* code = reinterpret_cast<const uint8_t*>(found[i].address);
    const size_t size = found[i].size;
    const size_t available = size != 0 ? std::min(size, kPrologueBytes) : kPrologueBytes;
    const DisplacePlan plan = planDisplacement(code, available, 5);
    if (!plan.ok) {
      Line why;
      why.add(refusalReason(plan.refused_kind));
      why.add(" at +");
      why.addHex(plan.refused_at);
      refuse(names[i], why.text());
      continue;
    }
    if (size == 0) {
      refuse(names[i], "its size is unknown: branches into its first bytes cannot be ruled out");
      continue;
    }
    const long branch = branchIntoDisplaced(code, std::min(size, kMaxBodyBytes), plan);
    if (branch >= 0) {
      Line why;
      why.add("the bytes at +");
      why.addHex(static_cast<uint64_t>(branch));
      why.add(" may branch into its first instructions");
      refuse(names[i], why.text());
      continue;
    }
    Prepared& next = prepared[ready];
    next.index = i;
    next.function = found[i].address;
    next.displaced = plan.length;
    std::memcpy(next.bytes, code, plan.length);
    next.trampoline = page.add(next.function, next.bytes, plan,
                               reinterpret_cast<uintptr_t>(kEntries[i].entry), &next.stub);
    if (next.trampoline == 0) {
      refuse(names[i], "a RIP-relative operand out of reach of its trampoline");
      continue;
    }
    ++ready;
  }
  if (ready > 0 && !page.seal()) {
    page.release();
    reportCannotPatch(process, "the system refuses executable memory for the trampolines");
    return;
  }
  bool done[kMaxNames] = {};
  for (size_t p = 0; p < ready; ++p) {
    const Prepared& next = prepared[p];
    const int protection = segmentProtection(next.function);
    switch (writeJump(next.function, next.bytes, next.displaced, next.stub, protection)) {
      case WriteResult::kDone:
        g_addresses[next.index] = reinterpret_cast<void*>(next.trampoline);
        done[next.index] = true;
        break;
      case WriteResult::kNotRestored:
        // Written and working, but its page stays writable.
        g_addresses[next.index] = reinterpret_cast<void*>(next.trampoline);
        done[next.index] = true;
        refuse(names[next.index], "patched, but its code page could not be made read-only again");
        break;
      case WriteResult::kChanged:
        refuse(names[next.index], "its bytes changed while it was examined");
        break;
      case WriteResult::kOutOfReach:
        refuse(names[next.index], "its trampoline is out of reach of a 32-bit jump");
        break;
      case WriteResult::kNotWritable:
        if (p == 0) {
          page.release();
          reportCannotPatch(process, "mprotect refused to make its code writable");
          return;
        }
        refuse(names[next.index], "mprotect refused to make its code writable");
        break;
    }
  }
  // Plaintext needs a read and a write form reaching the hooks.
  const auto detoured = [&](size_t index) { return done[index]; };
  g_tls_patched = (detoured(kSslRead) || detoured(kSslReadEx)) &&
                  (detoured(kSslWrite) || detoured(kSslWriteEx));
  if (!refused.empty()) {
    core::reportOnce(core::Problem::kTlsPatchRefused,
                     {process, "'s built-in OpenSSL: left alone: ", refused.text()});
  }
#else
  (void)process;  // x86-64 only: elsewhere, the warning at its first connection
#endif
}

}  // namespace

OwnCopy ownCopyOf(const char* name) {
  for (size_t i = 0; i < g_count; ++i) {
    if (std::strcmp(g_names[i], name) == 0) return OwnCopy{true, g_addresses[i]};
  }
  return OwnCopy{};
}

TAPSHIM_LOAD_TIME void patchExecutableOnce() {
  static std::atomic<bool> done{false};
  if (done.exchange(true)) return;
  examineAndPatch();
}

bool executableTlsPatched() { return g_tls_patched; }

bool executableStripped() { return g_stripped; }

}  // namespace tapshim::preload::patch
