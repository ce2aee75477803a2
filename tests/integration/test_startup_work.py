"""What the library costs a process that never touches a socket: preloaded
everywhere (docs/live.md, standby), it is loaded into every shell and tool
a service starts. Measured against a trivial preload (zlib) under strace:
inert, in standby and tapping, /bin/true makes the same system calls as
with zlib preloaded, plus the one mapping of the library's zero-filled data,
and, tapping, one getpid (the process the configuration was read in). So:
no malloc initialisation (getrandom, brk), no look into the executable
(/proc/self/exe: /bin/true is too small to hold OpenSSL), no signal
handler, no clock, no fd-limit probe, no file. The tapping engine is built
at the first hooked call instead; the rest of the suite shows it records
from there on. (Time is the benchmark's: ./scripts/bench --only startup.)"""
import collections
import os
import shutil
import subprocess
import tempfile
import unittest

from tapshim_testlib import TAPSHIM_LIB, require_artefacts

TRUE = "/bin/true" if os.path.exists("/bin/true") else shutil.which("true")


def trivial_library():
    for directory in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
        candidate = os.path.join(directory, "libz.so.1")
        if os.path.exists(candidate):
            return candidate
    raise AssertionError("libz.so.1 not found: the comparison needs a trivial library")


class StartupWorkTest(unittest.TestCase):

    def setUp(self):
        require_artefacts()
        self.strace = shutil.which("strace")
        if self.strace is None:
            raise AssertionError("strace not found (./scripts/setup installs it)")
        self.dir = tempfile.mkdtemp(prefix="tapshim-startup-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def compile_program(self, name, source, shared=False):
        path = os.path.join(self.dir, name)
        with open(path, "w") as out:
            out.write(source)
        output = path[:-2] + (".so" if shared else "")
        flags = ["-shared", "-fPIC"] if shared else []
        subprocess.run(["cc", *flags, "-O2", "-o", output, path], check=True, timeout=120)
        return output

    def system_calls(self, preload, program=TRUE, **variables):
        """The multiset of system calls `program` (/bin/true) makes with
        `preload` (and `variables`), in a clean environment."""
        log = os.path.join(self.dir, "strace.txt")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_PRELOAD": preload,
               **{key: str(value) for key, value in variables.items()}}
        done = subprocess.run([self.strace, "-f", "-qq", "-o", log, program], env=env,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        # A process that makes no hooked call hears nothing from the shim.
        self.assertEqual(done.stderr, "")
        with open(log) as calls:
            names = [line.split("(", 1)[0].split()[-1] for line in calls if "(" in line]
        return collections.Counter(names)

    def extra_over_trivial(self, **variables):
        trivial = self.system_calls(trivial_library())
        shim = self.system_calls(TAPSHIM_LIB, **variables)
        extra = shim - trivial
        missing = trivial - shim
        self.assertEqual(missing, collections.Counter(), "fewer calls than with zlib: the comparison is off")
        return extra

    def test_inert_adds_only_the_mapping_of_its_data(self):
        self.assertEqual(self.extra_over_trivial(), collections.Counter({"mmap": 1}))

    def test_standby_adds_nothing_more(self):
        self.assertEqual(self.extra_over_trivial(TAP_STANDBY=1),
                         collections.Counter({"mmap": 1}))

    def test_tapping_adds_one_getpid_and_creates_nothing(self):
        prefix = os.path.join(self.dir, "traces", "trace")
        os.makedirs(os.path.dirname(prefix))
        self.assertEqual(self.extra_over_trivial(TAP_PATH_PREFIX=prefix),
                         collections.Counter({"mmap": 1, "getpid": 1}))
        self.assertEqual(os.listdir(os.path.dirname(prefix)), [])

    def test_the_first_hooked_call_builds_the_engine_without_malloc(self):
        # A program that makes one hooked call (close) and never mallocs:
        # tapping, the call builds the engine (its process name is read:
        # prctl), from the start-up arena, so malloc is never set up.
        program = self.compile_program("closes.c", "#include <unistd.h>\n"
                                       "int main(void) { close(-1); return 0; }\n")
        prefix = os.path.join(self.dir, "trace")
        untapped = self.system_calls(trivial_library(), program=program)
        tapped = self.system_calls(TAPSHIM_LIB, program=program, TAP_PATH_PREFIX=prefix)
        extra = tapped - untapped
        self.assertEqual(extra["prctl"], 1, extra)
        self.assertEqual(extra["brk"], 0, extra)
        self.assertEqual(extra["getrandom"], 0, extra)

    def test_the_comparison_sees_a_malloc(self):
        # The check that can fail: a preload that mallocs at load (as the
        # library did before its start-up arena) shows malloc's set-up.
        library = self.compile_program(
            "mallocs.c", "#include <stdlib.h>\n"
            "void *volatile kept;\n"
            "__attribute__((constructor)) static void at_load(void) { kept = malloc(64); }\n",
            shared=True)
        extra = self.system_calls(library) - self.system_calls(trivial_library())
        self.assertGreaterEqual(extra["brk"], 1, extra)


if __name__ == "__main__":
    unittest.main()
