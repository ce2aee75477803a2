// The preload library is built without exceptions. The few standard
// library templates it instantiates (std::string, std::vector, in the
// constructor's configuration parsing) still name libstdc++'s throw
// helpers; defining them here keeps the static libstdc++'s exception
// machinery, and with it its own calls to read and close, out of the
// library. They are reached only on allocation failure or a broken
// invariant before tapping starts; without exceptions the outcome would be
// std::terminate anyway, so say why and abort.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "preload/startup_arena.h"

namespace {

namespace startup_arena = tapshim::preload::startup_arena;

[[noreturn]] void fail(const char* what) {
  static const char kPrefix[] = "tapshim: fatal: ";
  syscall(SYS_write, 2, kPrefix, sizeof(kPrefix) - 1);
  syscall(SYS_write, 2, what, strlen(what));
  syscall(SYS_write, 2, "\n", 1);
  abort();
}

}  // namespace

// Every function of libstdc++'s functexcept.o: if the library referenced
// one not defined here, the linker would pull that object in, and with it
// the duplicates of these.
namespace std {

void __throw_bad_exception() { fail("bad exception"); }
void __throw_bad_alloc() { fail("out of memory"); }
void __throw_bad_array_new_length() { fail("bad array length"); }
void __throw_bad_cast() { fail("bad cast"); }
void __throw_bad_typeid() { fail("bad typeid"); }
void __throw_logic_error(const char* what) { fail(what); }
void __throw_domain_error(const char* what) { fail(what); }
void __throw_invalid_argument(const char* what) { fail(what); }
void __throw_length_error(const char* what) { fail(what); }
void __throw_out_of_range(const char* what) { fail(what); }
void __throw_out_of_range_fmt(const char* format, ...) { fail(format); }
void __throw_runtime_error(const char* what) { fail(what); }
void __throw_range_error(const char* what) { fail(what); }
void __throw_overflow_error(const char* what) { fail(what); }
void __throw_underflow_error(const char* what) { fail(what); }

}  // namespace std

// The library's own allocation functions (hidden, like every symbol the
// version script does not export: the program's operator new is not
// replaced). libstdc++'s would throw std::bad_alloc, and referencing them
// would pull in its whole exception runtime: the unwinder, the emergency
// exception pool that mallocs 70 KiB in a constructor of its own at load,
// and the demangler of its verbose terminate handler. About a fifth of the
// library, paid by every process it is preloaded into. While the shim
// starts, they serve from its start-up arena (startup_arena.h).
namespace {

void* allocate(std::size_t size) {
  if (void* memory = startup_arena::allocate(size)) return memory;
  return std::malloc(size == 0 ? 1 : size);
}

void release(void* memory) {
  if (!startup_arena::owns(memory)) std::free(memory);
}

}  // namespace

void* operator new(std::size_t size) {
  void* memory = allocate(size);
  if (memory == nullptr) fail("out of memory");
  return memory;
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void operator delete(void* memory) noexcept { release(memory); }
void operator delete[](void* memory) noexcept { release(memory); }
void operator delete(void* memory, std::size_t) noexcept { release(memory); }
void operator delete[](void* memory, std::size_t) noexcept { release(memory); }
void operator delete(void* memory, const std::nothrow_t&) noexcept { release(memory); }
void operator delete[](void* memory, const std::nothrow_t&) noexcept { release(memory); }
