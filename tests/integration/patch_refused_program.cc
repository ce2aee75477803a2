// A program with functions named as OpenSSL's whose first instructions
// the detour must refuse: SSL_write begins with a relative jump, SSL_read
// with a relative call. Under the shim both are left alone, said in one
// line, and the program prints what it would have
// (tests/integration/test_tls_patch_refused.py). Padded to the size of a
// real OpenSSL program, which is what the shim looks into.
#include <cstdio>

// In a top-level asm block, so that no compiler rearranges the prologue.
asm(R"(
    .text
    .globl SSL_write
    .type SSL_write, @function
SSL_write:
    jmp 1f
    nop
1:  mov $42, %eax
    ret
    .size SSL_write, .-SSL_write

    .globl SSL_read
    .type SSL_read, @function
SSL_read:
    call 2f
    ret
2:  mov $7, %eax
    add $8, %rsp
    ret
    .size SSL_read, .-SSL_read

    # As much code as a program with OpenSSL inside: the shim does not look
    # into an executable with less than 256 KiB of it.
    .section .text.padding, "ax"
    .fill 320 * 1024, 1, 0xcc
)");

extern "C" int SSL_write(void* ssl, const void* buffer, int length);
extern "C" int SSL_read(void* ssl, void* buffer, int length);

int main() {
  char buffer[1];
  std::printf("SSL_write=%d SSL_read=%d\n", SSL_write(nullptr, "x", 1),
              SSL_read(nullptr, buffer, 1));
  return 0;
}
