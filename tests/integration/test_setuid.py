"""A set-uid program run by an unprivileged user is never tapped: its
traffic is not for its caller, and its traces would be written with the
owner's rights.

The program is a copy of curl, owned by root with mode 4755, run as nobody
(setpriv). Its one run fetches file:///proc/self/status (the effective uid
it ran with), file:///proc/self/maps (whether the library was loaded) and
a page over TCP from a recording server.

- LD_PRELOAD with a path: the loader ignores it for a set-uid program.
- LD_PRELOAD by bare name, the library in a system library directory with
  its own set-uid bit (what the loader requires then): the library is
  loaded, stays inert, and says so once on stderr.
In both, no trace file is created, although the trace directory is open
to everyone: the same copy without its set-uid bit is traced (the control).
"""
import contextlib
import os
import shutil
import subprocess
import tempfile
import unittest

from servers import RecordingHTTPServer
from tapshim_testlib import TAPSHIM_LIB, TapTestCase, shim_env

NOBODY = 65534
CURL = shutil.which("curl") or "/usr/bin/curl"
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
PAGE = b"fetched by a set-uid curl\n"
MESSAGE = b"tapshim: set-uid, set-gid or file-capability program: not tapping"


def suid_capable_directories():
    """Places for the set-uid copy, first the usual temporary directory."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [tempfile.gettempdir(), "/var/tmp", os.path.dirname(TAPSHIM_LIB), here, "/root"]
    for directory in candidates:
        with contextlib.suppress(OSError):
            if os.path.isdir(directory) and os.access(directory, os.W_OK) and \
                    not os.statvfs(directory).f_flag & os.ST_NOSUID:
                yield directory


def system_library_directory():
    """The directory libc was loaded from (a directory the loader trusts
    for a set-uid program's preloads by bare name)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if os.path.basename(path).startswith("libc.so"):
                return os.path.dirname(os.path.realpath(path))
    raise AssertionError("libc not found in /proc/self/maps")


class SetUidTest(TapTestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.fail("this test makes a set-uid root program: it must run as root (as CI does)")
        if not os.path.exists(SETPRIV):
            self.fail("no setpriv (util-linux)")
        with open("/proc/self/status") as status:
            if "NoNewPrivs:\t1" in status.read():
                self.skipTest("no_new_privs is set on the tests: no program can run set-uid")
        directories = list(suid_capable_directories())
        if not directories:
            self.skipTest("no writable directory on a file system mounted without nosuid")
        # The programs' directory is open to nobody; so is the trace directory.
        self.bin = tempfile.mkdtemp(prefix="tapshim-setuid-", dir=directories[0])
        self.addCleanup(shutil.rmtree, self.bin, ignore_errors=True)
        os.chmod(self.bin, 0o755)
        os.chmod(self.dir, 0o755)
        traces = os.path.join(self.dir, "traces")
        os.mkdir(traces)
        os.chmod(traces, 0o1777)
        self.prefix = os.path.join(traces, "trace")
        self.library = os.path.join(self.bin, "libtapshim.so")
        shutil.copy(TAPSHIM_LIB, self.library)
        os.chmod(self.library, 0o755)

    def copy_curl(self, name, mode):
        path = os.path.join(self.bin, name)
        shutil.copy(CURL, path)
        os.chown(path, 0, 0)
        os.chmod(path, mode)
        return path

    def run_as_nobody(self, program, preload):
        """Runs `program` (a curl) as nobody; returns (euid it ran with,
        whether it mapped a tapshim library, stderr)."""
        env = shim_env(self.prefix)
        env["LD_PRELOAD"] = preload
        with RecordingHTTPServer({"/page": PAGE}) as server:
            # curl writes the three to stdout, one after the other.
            done = subprocess.run(
                [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", program, "-s", "--noproxy",
                 "*", "file:///proc/self/status", "file:///proc/self/maps", server.url("/page")],
                env=env, capture_output=True, timeout=60, cwd=self.bin)
            self.assertEqual(done.returncode, 0, done.stderr)
            [connection] = server.wait_closed(1)
        self.assertTrue(done.stdout.endswith(PAGE), done.stdout[-200:])
        self.assertTrue(bytes(connection.sent).endswith(PAGE))
        uids = [line for line in done.stdout.decode().splitlines() if line.startswith("Uid:")]
        self.assertEqual(len(uids), 1, done.stdout[:400])
        real, effective = (int(field) for field in uids[0].split()[1:3])
        self.assertEqual(real, NOBODY)
        mapped = any(line.endswith(".so") and "tapshim" in os.path.basename(line.split()[-1])
                     for line in done.stdout.decode().splitlines() if "/" in line)
        return effective, mapped, done.stderr, connection

    def test_control_without_the_set_uid_bit_is_tapped(self):
        program = self.copy_curl("curl-plain", 0o755)
        effective, mapped, stderr, connection = self.run_as_nobody(program, self.library)
        self.assertEqual(effective, NOBODY)
        self.assertTrue(mapped)
        self.assertNotIn(b"tapshim:", stderr)
        traces = self.traces()
        self.assertEqual(len(traces), 1, traces)
        self.assertEqual(traces[0].sent(), bytes(connection.received))

    def test_preload_path_is_ignored_for_a_set_uid_program(self):
        program = self.copy_curl("curl-setuid", 0o4755)
        effective, mapped, stderr, _ = self.run_as_nobody(program, self.library)
        self.assertEqual(effective, 0, "the copy did not run set-uid root")
        self.assertFalse(mapped, "the loader preloaded a path for a set-uid program")
        self.assertNotIn(MESSAGE, stderr)
        self.assertEqual(self.trace_files(), [])

    def test_library_from_a_system_directory_stays_inert(self):
        program = self.copy_curl("curl-setuid", 0o4755)
        name = f"libtapshim-test-{os.getpid()}-{id(self)}.so"
        system_copy = os.path.join(system_library_directory(), name)
        shutil.copy(TAPSHIM_LIB, system_copy)
        self.addCleanup(os.remove, system_copy)
        # The loader takes a bare name for a set-uid program only from a
        # system directory, and only a library that is set-uid itself.
        os.chmod(system_copy, 0o4755)
        effective, mapped, stderr, _ = self.run_as_nobody(program, name)
        self.assertEqual(effective, 0, "the copy did not run set-uid root")
        self.assertTrue(mapped, f"the loader did not preload {system_copy}: {stderr!r}")
        lines = [line for line in stderr.splitlines() if line.startswith(b"tapshim:")]
        self.assertEqual(lines, [MESSAGE], stderr)
        self.assertEqual(self.trace_files(), [])


if __name__ == "__main__":
    unittest.main()
