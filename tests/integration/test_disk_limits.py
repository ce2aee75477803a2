"""File-system limits on the traces, with real programs under the shim: the
file size limit (`ulimit -f`, set in the child with setrlimit), a full disk
(a small tmpfs) and the disk reserve (TAP_DISK_RESERVE, a tmpfs filled
below it). The program's exit status and output are those of its untapped
run, with no SIGXFSZ; every trace file left holds whole records only, no
file is empty, and a cut trace says so (Envoy's truncation flags, or a gap
event). The tmpfs tests mount, which needs root (as in CI); elsewhere they
skip and say why."""
import json
import os
import resource
import subprocess
import tempfile
import textwrap
import unittest

from servers import PLAN_CLIENT, PYTHON, EchoServer, RecordingHTTPServer
from tapshim_testlib import TapTestCase, decode, shim_env, trace_paths

BODY = bytes((i * 13 + i // 256) % 256 for i in range(100 * 1000))
SMALL_BODY = b"a small body\n" * 10
CURL = ["curl", "-s", "-S", "--fail", "--noproxy", "*", "-o", "-"]
RAISED = {"TAP_MAX_BUFFERED_RX_BYTES": 10**7, "TAP_MAX_BUFFERED_TX_BYTES": 10**7}
FSIZE = 20 * 1024  # `ulimit -f 20`
MARK_ROOM = 1024   # kept under the file size limit for the mark of a cut


def limit_file_size(size):
    """A preexec_fn: the soft RLIMIT_FSIZE, as `ulimit -f` sets it."""
    def apply():
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    return apply


def untapped_env():
    return {key: value for key, value in os.environ.items()
            if key != "LD_PRELOAD" and not key.startswith("TAP_")}


def run(command, env=None, fsize=None):
    return subprocess.run(command, env=env, capture_output=True, timeout=120,
                          preexec_fn=limit_file_size(fsize) if fsize else None)


def echo_plan(total, chunk):
    """PLAN_CLIENT steps: send `total` bytes in `chunk`s, receiving each echo."""
    plan = []
    for _ in range(total // chunk):
        plan += [["send", [chunk]], ["recv", [chunk]]]
    return plan + [["shut"], ["drain", 4096]]


class DiskLimitsTest(TapTestCase):

    def same_as_untapped(self, command, fsize=None, **variables):
        """Runs `command` untapped, then tapped; both must end alike."""
        untapped = run(command, env=untapped_env(), fsize=fsize)
        tapped = run(command, env=shim_env(self.prefix, **variables), fsize=fsize)
        self.assertEqual(untapped.returncode, 0, untapped.stderr)
        self.assertEqual(tapped.returncode, untapped.returncode,
                         f"tapped: {tapped.returncode} (-25 is SIGXFSZ): {tapped.stderr}")
        self.assertEqual(tapped.stdout, untapped.stdout)
        return tapped

    def mount_tmpfs(self, size):
        """A tmpfs of `size` bytes; the prefix moves into it."""
        mount = tempfile.mkdtemp(prefix="tmpfs-", dir=self.dir)
        options = f"size={size},mode=0700"
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", mount],
                              capture_output=True, text=True)
        if done.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", "-l", mount], capture_output=True)
        self.prefix = os.path.join(mount, "trace")
        return mount

    def whole_traces(self):
        """Every trace file, none empty, decoded by libprotobuf (which fails on
        a cut record)."""
        paths = trace_paths(self.prefix)
        for path in paths:
            self.assertGreater(os.path.getsize(path), 0, f"{path} is empty")
        return decode(paths)

    # --- the file size limit ---------------------------------------------

    def test_ulimit_f_buffered_curl_ends_as_untapped_with_a_cut_trace(self):
        # Before: curl was killed by SIGXFSZ (exit status 153 from a shell).
        with RecordingHTTPServer({"/body": BODY}) as server:
            done = self.same_as_untapped(CURL + [server.url("/body")], fsize=FSIZE,
                                         **RAISED)
        self.assertEqual(done.stdout, BODY)
        self.assertEqual(done.stderr.decode(),
                         f"tapshim: a trace file reached the file size limit (RLIMIT_FSIZE, {FSIZE} "
                         "bytes): traces are cut there\n")
        [trace] = self.whole_traces()
        self.assertLessEqual(os.path.getsize(trace.path), FSIZE - MARK_ROOM)
        self.assertTrue(trace.read_truncated)
        self.assertFalse(trace.write_truncated)
        self.assertTrue(trace.sent().startswith(b"GET /body HTTP/1.1\r\n"))
        received = trace.received()
        self.assertGreater(len(received), FSIZE // 2)
        self.assertTrue(b"\r\n\r\n" in received)
        self.assertEqual(received[received.index(b"\r\n\r\n") + 4:],
                         BODY[:len(received) - received.index(b"\r\n\r\n") - 4])
        self.assertTrue(trace.events[-1].truncated)

    def test_ulimit_f_streamed_python_client_ends_with_a_gap(self):
        plan = echo_plan(200 * 1000, 1000)
        with EchoServer() as server:
            client = [PYTHON, "-c", PLAN_CLIENT, str(server.port), json.dumps(plan)]
            done = self.same_as_untapped(client, fsize=FSIZE, TAP_STREAMING=1)
        [trace] = self.whole_traces()
        self.assertIn(b"RLIMIT_FSIZE", done.stderr)
        self.assertEqual(done.stderr.count(b"\n"), 1, done.stderr)
        self.assertLessEqual(os.path.getsize(trace.path), FSIZE)
        gaps = [i for i, event in enumerate(trace.events) if event.truncated and not event.data]
        self.assertTrue(gaps, "the cut is marked")
        # After the marks, only the closed event, if it fits under the limit.
        self.assertIn([event.kind for event in trace.events[gaps[-1] + 1:]], ([], ["closed"]))
        self.assertEqual(gaps, list(range(gaps[0], gaps[-1] + 1)), "one cut, its marks together")
        self.assertTrue(trace.sent() and trace.received())

    # --- a full disk ---------------------------------------------------------

    def test_full_disk_leaves_no_empty_or_cut_buffered_trace(self):
        # Before: on a 64 KiB tmpfs, three such runs left two empty files and
        # one cut at 64 KiB.
        self.mount_tmpfs(64 * 1024)
        with RecordingHTTPServer({"/body": BODY, "/small": SMALL_BODY}) as server:
            for _ in range(3):
                done = self.same_as_untapped(CURL + [server.url("/body")], TAP_DISK_RESERVE=0,
                                             **RAISED)
                self.assertEqual(trace_paths(self.prefix), [], "no file: the trace did not fit")
                self.assertEqual(done.stderr.decode(), "tapshim: cannot write a trace file: No space "
                                 "left on device (traces are cut)\n")
            done = self.same_as_untapped(CURL + [server.url("/small")], TAP_DISK_RESERVE=0,
                                         **RAISED)
            self.assertEqual(done.stderr, b"")
        [trace] = self.whole_traces()
        self.assertTrue(trace.received().endswith(SMALL_BODY))

    def check_streamed_on_full_disk(self, **variables):
        self.mount_tmpfs(64 * 1024)
        plan = echo_plan(400 * 1000, 1000)
        with EchoServer() as server:
            client = [PYTHON, "-c", PLAN_CLIENT, str(server.port), json.dumps(plan)]
            done = self.same_as_untapped(client, TAP_STREAMING=1, TAP_DISK_RESERVE=0, **variables)
        self.assertIn(b"No space left on device", done.stderr)
        [trace] = self.whole_traces()
        self.assertTrue(trace.sent() and trace.received())

    def test_full_disk_streamed_trace_ends_at_a_whole_message(self):
        self.check_streamed_on_full_disk()

    def test_full_disk_per_process_file_ends_at_a_whole_message(self):
        self.check_streamed_on_full_disk(TAP_SINK="file_per_process")

    # --- the disk reserve ----------------------------------------------------

    def test_below_the_reserve_no_trace_is_created_until_space_returns(self):
        mount = self.mount_tmpfs(1024 * 1024)
        filler = os.path.join(mount, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (900 * 1024))
        with RecordingHTTPServer({"/small": SMALL_BODY}) as server:
            done = self.same_as_untapped(CURL + [server.url("/small")], TAP_DISK_RESERVE="256K")
            self.assertEqual(trace_paths(self.prefix), [], "no trace below the reserve")
            self.assertEqual(done.stderr.decode(),
                             f"tapshim: less than 262144 bytes free on the file system of {mount} "
                             "(TAP_DISK_RESERVE): no new traces, and streamed traces are cut, until "
                             "space returns\n")
            os.remove(filler)
            done = self.same_as_untapped(CURL + [server.url("/small")], TAP_DISK_RESERVE="256K")
            self.assertEqual(done.stderr, b"")
        [trace] = self.whole_traces()
        self.assertTrue(trace.received().endswith(SMALL_BODY))

    def test_a_streamed_trace_is_cut_below_the_reserve_and_resumes(self):
        # One process: its connection's trace goes on while the disk has
        # room, is cut (and marked) while the program itself fills the disk
        # past the reserve, and resumes when it frees it; a connection made
        # meanwhile gets no trace.
        mount = self.mount_tmpfs(1024 * 1024)
        client = textwrap.dedent("""
            import os, socket, sys, time
            port, filler = int(sys.argv[1]), sys.argv[2]
            def exchange(sock, data):
                sock.sendall(data)
                got = b""
                while len(got) < len(data):
                    got += sock.recv(len(data) - len(got))
                assert got == data
            sock = socket.create_connection(("127.0.0.1", port))
            exchange(sock, b"A" * 500)
            space = os.statvfs(filler.rsplit("/", 1)[0])
            with open(filler, "wb") as f:
                f.write(b"\\0" * (space.f_bavail * space.f_frsize - 128 * 1024))
            time.sleep(0.3)  # the shim looks at free space again after 100 ms
            exchange(sock, b"B" * 500)
            other = socket.create_connection(("127.0.0.1", port))
            exchange(other, b"C" * 500)
            other.close()
            os.remove(filler)
            time.sleep(0.3)
            exchange(sock, b"D" * 500)
            sock.close()
            print("done")
        """)
        filler = os.path.join(mount, "filler")
        with EchoServer() as server:
            done = self.same_as_untapped([PYTHON, "-c", client, str(server.port), filler],
                                         TAP_STREAMING=1, TAP_DISK_RESERVE="256K")
            server.wait_closed(4)
        self.assertEqual(done.stdout, b"done\n")
        self.assertEqual(len(trace_paths(self.prefix)), 1, "no trace of the connection made below")
        self.assertEqual(done.stderr.decode(),
                         f"tapshim: less than 262144 bytes free on the file system of {mount} "
                         "(TAP_DISK_RESERVE): no new traces, and streamed traces are cut, until "
                         "space returns\n")
        [trace] = self.whole_traces()
        shown = [(event.kind, event.data[:1] or ("GAP" if event.truncated else ""))
                 for event in trace.events]
        self.assertEqual(shown, [("write", b"A"), ("read", b"A"), ("write", "GAP"),
                                 ("read", "GAP"), ("write", b"D"), ("read", b"D"), ("closed", "")])


if __name__ == "__main__":
    unittest.main()
