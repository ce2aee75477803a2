#!/usr/bin/env python3
"""Symbol hygiene of libtapshim.so (design.md section 5).

  check_symbols.py LIBTAPSHIM HOOK_NAMES_TXT LIBTAP_CORE_A

Asserts that the preload library
  1. depends on libc (and the loader) alone,
  2. exports exactly the functions listed in hooks.def, unversioned (an
     anonymous version script: a named node would stop interposition for
     programs linked against glibc's versioned symbols),
  3. never calls a hooked function except through its resolved pointer:
     no object of the tap core imports a hooked name, and the library has
     no PLT/GOT relocation against one of its own hooks,
  4. imports nothing but glibc symbols (libstdc++ and libgcc are static),
  5. loads under LD_BIND_NOW=1, inert and active,
  6. carries none of libstdc++'s exception runtime (unwinder, exception
     allocation and its emergency pool, the demangler), which every process
     would pay for at load: a function-local static with a guard, or
     libstdc++'s operator new, would pull it back in.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

LIB, HOOK_NAMES, CORE_ARCHIVE = sys.argv[1:4] if len(sys.argv) >= 4 else ("", "", "")
ALLOWED_DEPENDENCIES = re.compile(r"^(linux-vdso\.so\.1|libc\.so\.6|/lib64/ld-linux-x86-64\.so\.2)$")


def run(*command, env=None):
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def hook_names():
    with open(HOOK_NAMES, encoding="utf-8") as names:
        return {line.strip() for line in names if line.strip()}


class SymbolHygieneTest(unittest.TestCase):
    def test_depends_on_libc_alone(self):
        dependencies = [line.split()[0] for line in run("ldd", LIB).splitlines() if line.strip()]
        unexpected = [d for d in dependencies if not ALLOWED_DEPENDENCIES.match(d)]
        self.assertEqual(unexpected, [], f"ldd {LIB} lists more than libc")
        self.assertIn("libc.so.6", dependencies)

    def test_exports_exactly_the_hooked_functions(self):
        exported = {line.split()[2] for line in run("nm", "-D", "--defined-only", LIB).splitlines()}
        self.assertEqual(exported, hook_names())

    def test_exports_are_unversioned(self):
        # Defined dynamic symbols carry no version, and the library defines
        # no version node of its own.
        for line in run("objdump", "-T", LIB).splitlines():
            fields = line.split()
            if len(fields) >= 7 and fields[-1] in hook_names() and ".text" in line:
                self.assertNotIn("GLIBC", line)
                self.assertNotRegex(fields[-2], r"^[A-Z]+_[0-9]", line)
        self.assertNotIn("Version definition section", run("readelf", "-V", LIB))

    def test_tap_core_never_imports_a_hooked_function(self):
        imported = {line.split()[-1] for line in run("nm", "-u", CORE_ARCHIVE).splitlines()
                    if line.strip() and not line.endswith(":")}
        self.assertEqual(sorted(imported & hook_names()), [],
                         "tap_core calls hooked functions directly: it must use tap_core/base/os.h")

    def test_library_has_no_relocation_against_its_own_hooks(self):
        relocated = set()
        for line in run("readelf", "-rW", LIB).splitlines():
            if "JUMP_SLO" in line or "GLOB_DAT" in line:
                fields = line.split()
                if len(fields) >= 5:
                    relocated.add(fields[4].split("@")[0])
        self.assertEqual(sorted(relocated & hook_names()), [],
                         "the library calls one of its own hooks through the PLT")

    def test_imports_only_glibc(self):
        for line in run("nm", "-D", "--undefined-only", LIB).splitlines():
            kind, name = line.split()[-2:]
            if kind == "w":
                continue  # weak and optional (libitm's TM clones, gmon): may stay unresolved
            self.assertRegex(name, r"@GLIBC_", f"imports {name} from outside glibc")

    def test_no_exception_runtime(self):
        defined = {line.split()[-1] for line in run("nm", "--defined-only", LIB).splitlines()
                   if len(line.split()) >= 3}
        runtime = sorted(name for name in defined
                         if name.startswith(("_Unwind_", "__cxa_allocate_exception", "__cxa_throw",
                                             "__cxa_demangle", "__cxa_guard_acquire",
                                             "__gxx_personality")))
        self.assertEqual(runtime, [], "libstdc++'s exception runtime is linked in")
        self.assertIn("operator new", run("nm", "-C", "--defined-only", LIB),
                      "nm reads no symbol table: the check above proves nothing")

    def test_loads_under_bind_now(self):
        with tempfile.TemporaryDirectory() as directory:
            for extra in ({}, {"TAP_PATH_PREFIX": os.path.join(directory, "trace")}):
                env = dict(os.environ, LD_PRELOAD=LIB, LD_BIND_NOW="1", **extra)
                done = subprocess.run(["/bin/true"], capture_output=True, text=True, env=env)
                self.assertEqual(done.returncode, 0)
                self.assertEqual(done.stderr, "")
            self.assertEqual(os.listdir(directory), [])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
