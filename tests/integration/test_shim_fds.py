"""A program that takes the shim's own fds away never receives trace bytes.

A streamed trace keeps its file open, on an fd near the top of the fd range
(design.md §5), and writes to it without a system call to check it first.
Daemons close every fd they do not know, and a program may then open a file
of its own that gets the same number. Through libc (close, closefrom,
close_range, dup2) the hooks tell the shim before the call runs; behind
libc's back (a raw syscall(2)) the shim finds out by the file's identity,
checked at most every 10 ms. Either way the program's file must hold only
what the program wrote, and the trace every byte of the connection.
"""
import os
import platform
import subprocess
import textwrap
import unittest

from servers import PYTHON, EchoServer
from tapshim_testlib import TapTestCase, shim_env

# The client: a few streamed messages (the trace file is kept open from the
# second), then it takes the shim's fd number for a file of its own in the
# way argv[3] names, writes that file, and goes on talking.
CLIENT = textwrap.dedent("""
    import ctypes, os, socket, sys, time
    port, own_path, how = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    libc = ctypes.CDLL(None, use_errno=True)
    SYS_close, SYS_dup2 = 3, 33  # x86_64
    sock = socket.create_connection(("127.0.0.1", port))
    def talk(word):
        sock.sendall(word)
        got = b""
        while len(got) < len(word):
            got += sock.recv(100)
        assert got == word, (got, word)
    talk(b"one;")
    talk(b"two;")
    def shim_fd():
        prefix = os.environ["TAP_PATH_PREFIX"]
        for name in os.listdir("/proc/self/fd"):
            try:
                if os.readlink("/proc/self/fd/" + name).startswith(prefix):
                    return int(name)
            except OSError:
                pass
        raise SystemExit("no trace file is open")
    target = shim_fd()
    if how == "closerange":     # every fd above the socket, as daemons do
        os.closerange(sock.fileno() + 1, target + 1)
    own = os.open(own_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if how == "close":          # close(), then the number is reused
        os.close(target)
        os.dup2(own, target)
    elif how == "closerange":
        os.dup2(own, target)
    elif how == "dup2":         # dup2 onto it closes it implicitly
        os.dup2(own, target)
    elif how == "raw":          # nothing through libc's close or dup2
        assert libc.syscall(SYS_close, target) == 0
        assert libc.syscall(SYS_dup2, own, target) == target
        time.sleep(0.05)        # past the shim's 10 ms recheck
    if own != target:
        os.close(own)
    os.write(target, b"the program's own line\\n")
    talk(b"three;")
    talk(b"four;")
    sock.close()
    os.close(target)
""")


class ShimFdsTest(TapTestCase):

    def check(self, how):
        own = os.path.join(self.dir, "programs_own")
        with EchoServer() as server:
            # A low fd limit puts the shim's numbers where Python's own
            # files would land after the program closed them.
            done = subprocess.run(["prlimit", "--nofile=512:512", PYTHON, "-c", CLIENT,
                                   str(server.port), own, how],
                                  env=shim_env(self.prefix, TAP_STREAMING=1),
                                  capture_output=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stderr, b"")
            server.wait_closed(1)
        with open(own, "rb") as f:
            self.assertEqual(f.read(), b"the program's own line\n")
        [trace] = self.traces()
        self.assertEqual(trace.sent(), b"one;two;three;four;")
        self.assertEqual(trace.received(), b"one;two;three;four;")
        self.assertEqual(trace.events[-1].kind, "closed")

    def test_close(self):
        self.check("close")

    def test_closerange(self):
        self.check("closerange")

    def test_dup2_onto_it(self):
        self.check("dup2")

    @unittest.skipUnless(platform.machine() == "x86_64", "system call numbers are x86_64's")
    def test_raw_system_calls(self):
        self.check("raw")


    def test_a_vfork_childs_closes_leave_the_parents_files_alone(self):
        """A vfork child's closefrom(3) closes the child's copies only: the
        parent keeps its one trace file open (no reopen, no leaked fd)."""
        with EchoServer() as server:
            done = subprocess.run([os.environ["VFORK_CLOSEFROM_CLIENT"], str(server.port), self.dir],
                                  env=shim_env(self.prefix, TAP_STREAMING=1),
                                  capture_output=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stderr, b"")
            server.wait_closed(1)
        self.assertEqual(done.stdout.strip(), b"trace_fds_before=1 trace_fds_after=1")
        [trace] = self.traces()
        self.assertEqual(trace.sent(), b"one;two;three;")
        self.assertEqual(trace.received(), b"one;two;three;")


if __name__ == "__main__":
    unittest.main()
