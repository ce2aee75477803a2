#include "preload/patch/patch_detour.h"

#include <sys/mman.h>

#include <cstring>

namespace tapshim::preload::patch {
namespace {

constexpr size_t kPageSize = 4096;
constexpr int64_t kReach = int64_t{1} << 31;

// jmp *0(%rip), then the 8-byte target: reaches anywhere.
constexpr size_t kAbsoluteJumpSize = 14;
void writeAbsoluteJump(uint8_t* at, uintptr_t target) {
  const uint8_t opcode[6] = {0xff, 0x25, 0, 0, 0, 0};
  std::memcpy(at, opcode, sizeof(opcode));
  std::memcpy(at + sizeof(opcode), &target, sizeof(target));
}

bool withinReach(uintptr_t from, uintptr_t to) {
  const int64_t distance = static_cast<int64_t>(to - from);
  return distance > -kReach + static_cast<int64_t>(kPageSize) &&
         distance < kReach - static_cast<int64_t>(kPageSize);
}

uint8_t* mapAt(uintptr_t hint) {
  void* mapped = mmap(reinterpret_cast<void*>(hint), kPageSize, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (mapped == MAP_FAILED) return nullptr;
  // A kernel older than 4.17 takes the flag as a hint and maps elsewhere.
  if (reinterpret_cast<uintptr_t>(mapped) != hint) {
    munmap(mapped, kPageSize);
    return nullptr;
  }
  return static_cast<uint8_t*>(mapped);
}

}  // namespace

bool TrampolinePage::allocate(uintptr_t low, uintptr_t high) {
  // Close above the executable first (its heap begins further up), then
  // below it; a megabyte apart, a few hundred tries at most.
  constexpr uintptr_t kStep = uintptr_t{1} << 20;
  constexpr int kTries = 256;
  const uintptr_t above = (high + kStep - 1) & ~(kStep - 1);
  for (int i = 0; i < kTries; ++i) {
    const uintptr_t hint = above + static_cast<uintptr_t>(i) * kStep;
    if (!withinReach(low, hint + kPageSize)) break;
    if ((page_ = mapAt(hint)) != nullptr) return true;
  }
  const uintptr_t below = low & ~(kStep - 1);
  for (int i = 1; i <= kTries; ++i) {
    if (below < static_cast<uintptr_t>(i) * kStep + (uintptr_t{1} << 16)) break;
    const uintptr_t hint = below - static_cast<uintptr_t>(i) * kStep;
    if (!withinReach(high, hint)) break;
    if ((page_ = mapAt(hint)) != nullptr) return true;
  }
  return false;
}

uintptr_t TrampolinePage::add(uintptr_t function, const uint8_t* code, const DisplacePlan& plan,
                              uintptr_t entry, uintptr_t* stub) {
  const size_t needed = plan.length + 2 * kAbsoluteJumpSize;
  if (page_ == nullptr || used_ + needed > kPageSize) return 0;
  uint8_t* trampoline = page_ + used_;
  const auto trampoline_address = reinterpret_cast<uintptr_t>(trampoline);
  if (!relocate(code, function, plan, trampoline, trampoline_address)) return 0;
  writeAbsoluteJump(trampoline + plan.length, function + plan.length);
  writeAbsoluteJump(trampoline + plan.length + kAbsoluteJumpSize, entry);
  *stub = trampoline_address + plan.length + kAbsoluteJumpSize;
  used_ += (needed + 15) & ~size_t{15};
  return trampoline_address;
}

bool TrampolinePage::seal() {
  return page_ != nullptr && mprotect(page_, kPageSize, PROT_READ | PROT_EXEC) == 0;
}

void TrampolinePage::release() {
  if (page_ != nullptr) munmap(page_, kPageSize);
  page_ = nullptr;
  used_ = 0;
}

WriteResult writeJump(uintptr_t function, const uint8_t* expected, size_t expected_length,
                      uintptr_t stub, int protection) {
  constexpr size_t kJumpSize = 5;
  const int64_t displacement = static_cast<int64_t>(stub - (function + kJumpSize));
  if (displacement < INT32_MIN || displacement > INT32_MAX) return WriteResult::kOutOfReach;
  // The jump may straddle two pages.
  const uintptr_t first_page = function & ~(kPageSize - 1);
  const uintptr_t last_page = (function + kJumpSize - 1) & ~(kPageSize - 1);
  const size_t length = last_page - first_page + kPageSize;
  auto* start = reinterpret_cast<void*>(first_page);
  if (mprotect(start, length, PROT_READ | PROT_WRITE) != 0) return WriteResult::kNotWritable;
  auto* entry = reinterpret_cast<uint8_t*>(function);
  WriteResult result = WriteResult::kChanged;
  if (expected_length >= kJumpSize && std::memcmp(entry, expected, expected_length) == 0) {
    uint8_t jump[kJumpSize] = {0xe9};
    const auto value = static_cast<int32_t>(displacement);
    std::memcpy(jump + 1, &value, sizeof(value));
    std::memcpy(entry, jump, kJumpSize);
    result = WriteResult::kDone;
  }
  if (mprotect(start, length, protection) != 0) return WriteResult::kNotRestored;
  return result;
}

}  // namespace tapshim::preload::patch
