"""Bytes a tapped TCP connection moved without a hooked call are not lost
silently: when the trace ends, the kernel's own counts (TCP_INFO, SIOCINQ,
SIOCOUTQ) are held against what hooked calls moved, and a direction short
of them gets a gap (an empty event flagged truncated) at the end of the
trace, with one line on stderr. io_uring and raw system calls are the two
ways a dynamically linked program does that.
"""
import os
import platform
import socket
import subprocess
import textwrap
import unittest

from servers import PYTHON, EchoServer
from tapshim_testlib import TapTestCase, shim_env

UNSEEN_LINE = (b"tapshim: bytes moved on a tapped connection without a hooked call "
               b"(io_uring? raw system calls?): its trace marks a gap\n")

# Talks through hooked calls, then (argv[2] == "raw") through raw sendto and
# recvfrom system calls, which no hook sees; the way it ends the connection
# (argv[3]) puts the socket in a different TCP state when the trace ends.
RAW_CLIENT = textwrap.dedent("""
    import ctypes, socket, sys
    port, mode, ending = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    libc = ctypes.CDLL(None, use_errno=True)
    SYS_sendto, SYS_recvfrom = 44, 45  # x86_64
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(None)
    def exchange(word, send, receive):
        assert send(word) == len(word)
        got = b""
        while len(got) < len(word):
            got += receive(len(word) - len(got))
        assert got == word, got
    exchange(b"hooked;", sock.send, sock.recv)
    if mode == "raw":
        def raw_send(word):
            return libc.syscall(SYS_sendto, sock.fileno(), word, len(word), 0, None, 0)
        def raw_receive(size):
            buffer = ctypes.create_string_buffer(size)
            n = libc.syscall(SYS_recvfrom, sock.fileno(), buffer, size, 0, None, None)
            assert n > 0, ctypes.get_errno()
            return buffer.raw[:n]
        exchange(b"raw;", raw_send, raw_receive)
    if ending == "half-close":   # our FIN first, then theirs: CLOSE at the end
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b""
    if ending == "unread":       # the echo of the last word is left unread
        assert sock.send(b"more;") == 5
        import time; time.sleep(0.2)
    sock.close()
""")


def shape(trace):
    return [(e.kind, e.data, e.truncated) for e in trace.events if e.kind != "closed"]


class UnseenBytesTest(TapTestCase):

    def run_client(self, command, **variables):
        """Runs `command` ("{port}" replaced by the echo server's) under the
        shim; returns its result and what the server received."""
        with EchoServer() as server:
            done = subprocess.run([part.replace("{port}", str(server.port)) for part in command],
                                  env=shim_env(self.prefix, **variables), capture_output=True,
                                  timeout=60)
            [connection] = server.wait_closed(1)
        return done, bytes(connection.received)

    def run_against_silent_peer(self, script):
        """Runs the Python `script` (its argv[1]: the port) under the shim,
        streaming, against a peer that accepts nothing and reads nothing, so
        what the script sends stays in its send queue."""
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            done = subprocess.run([PYTHON, "-c", script, str(listener.getsockname()[1])],
                                  env=shim_env(self.prefix, TAP_STREAMING=1), capture_output=True,
                                  timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def test_hooked_bytes_alone_make_no_gap(self):
        for ending in ("close", "half-close", "unread"):
            with self.subTest(ending=ending):
                for path in self.trace_files():
                    os.unlink(path)
                done, received = self.run_client([PYTHON, "-c", RAW_CLIENT, "{port}", "plain", ending])
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertEqual(done.stderr, b"")
                more = [("write", b"more;", False)] if ending == "unread" else []
                self.assertEqual(received, b"hooked;" + (b"more;" if more else b""))
                [trace] = self.traces()
                self.assertEqual(shape(trace),
                                 [("write", b"hooked;", False), ("read", b"hooked;", False)] + more)

    def test_bytes_still_queued_at_close_are_no_gap(self):
        """A peer that does not read: what the program handed over waits,
        unacknowledged, in the send queue when the trace ends."""
        script = textwrap.dedent("""
            import socket, sys
            sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            sock.setblocking(False)
            sent = 0
            try:
                while True:
                    sent += sock.send(b"q" * 65536)
            except BlockingIOError:
                pass
            print(sent)
            sock.close()
        """)
        done = self.run_against_silent_peer(script)
        self.assertEqual(done.stderr, b"")
        self.assertGreater(int(done.stdout), 0)
        # Streamed (a buffered trace cut at its limit would hide a gap).
        [trace] = self.traces()
        self.assertFalse(any(e.data == b"" and e.truncated for e in trace.events), shape(trace)[-3:])

    @unittest.skipUnless(platform.machine() == "x86_64", "system call numbers are x86_64's")
    def test_raw_system_calls_make_a_gap_each_way(self):
        for ending in ("close", "half-close"):
            with self.subTest(ending=ending):
                for path in self.trace_files():
                    os.unlink(path)
                done, received = self.run_client([PYTHON, "-c", RAW_CLIENT, "{port}", "raw", ending])
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertEqual(done.stderr, UNSEEN_LINE)
                self.assertEqual(received, b"hooked;raw;")
                [trace] = self.traces()
                self.assertEqual(shape(trace), [("write", b"hooked;", False), ("read", b"hooked;", False),
                                                ("read", b"", True), ("write", b"", True)])

    @unittest.skipUnless(platform.machine() == "x86_64", "system call numbers are x86_64's")
    def test_raw_bytes_still_queued_at_close_are_a_gap(self):
        """Unhooked bytes that wait in the send queue (the peer does not
        read) count too: SIOCOUTQ, not the acknowledged count alone."""
        script = textwrap.dedent("""
            import ctypes, socket, sys
            libc = ctypes.CDLL(None, use_errno=True)
            sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            sock.setblocking(False)
            assert sock.send(b"h" * 1000) == 1000
            chunk = b"r" * 65536
            while libc.syscall(44, sock.fileno(), chunk, len(chunk), 0, None, 0) > 0:
                pass
            assert ctypes.get_errno() == 11, ctypes.get_errno()  # EAGAIN: the queue is full
            sock.close()
        """)
        done = self.run_against_silent_peer(script)
        self.assertEqual(done.stderr, UNSEEN_LINE)
        [trace] = self.traces()
        self.assertEqual(shape(trace)[-1], ("write", b"", True))

    def check_io_uring(self, **variables):
        client = os.environ.get("IO_URING_CLIENT")
        if not client:
            self.skipTest("built without liburing")
        done, received = self.run_client([client, "{port}"], **variables)
        if done.returncode == 77:
            self.skipTest(done.stderr.decode().strip())
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, UNSEEN_LINE)
        self.assertEqual(received, b"hooked;uring;")
        [trace] = self.traces()
        self.assertEqual(shape(trace), [("write", b"hooked;", False), ("read", b"hooked;", False),
                                        ("read", b"", True), ("write", b"", True)])
        return trace

    def test_io_uring_bytes_make_a_gap_each_way(self):
        self.check_io_uring()

    def test_io_uring_bytes_make_a_gap_in_a_streamed_trace_too(self):
        trace = self.check_io_uring(TAP_STREAMING=1)
        self.assertEqual(trace.events[-1].kind, "closed")


if __name__ == "__main__":
    unittest.main()
