"""The library preloaded more than once taps once.

LD_PRELOAD="lib lib" loads one object (the loader knows the path), but two
copies under different paths (a system path and a build path, an old and a
new install) are two objects: each exports the hooks, and the first one's
calls reach libc through the second one's. Both would record every call,
giving each connection two traces. The first copy in the load order taps;
a copy that finds an earlier one loaded (by the note the library carries)
stays inert: it forwards every call, says nothing, writes nothing.
"""
import os
import shutil
import subprocess
import textwrap
import unittest

from servers import PYTHON, EchoServer
from tapshim_testlib import TAPSHIM_LIB, TapTestCase, shim_env
from tls_fixtures import TLSEchoServer, make_certificate, tls_env

# One connection: two writes, the echo read back to EOF.
CLIENT = textwrap.dedent("""
    import socket, sys
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
    sock.sendall(b"first part;")
    sock.sendall(b"second part")
    sock.shutdown(socket.SHUT_WR)
    echo = b""
    while chunk := sock.recv(65536):
        echo += chunk
    sys.stdout.buffer.write(echo)
    sock.close()
""")
SENT = b"first part;second part"

# The same over TLS with Python's ssl, whose libssl is loaded RTLD_LOCAL:
# SSL_read is then found outside the global scope, where each copy must
# skip every copy of the library, not only itself (a copy that took the
# other's hook for libssl's called it back, without end).
TLS_CLIENT = textwrap.dedent("""
    import socket, ssl, sys
    context = ssl.create_default_context(cafile=sys.argv[2])
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60),
                               server_hostname="localhost")
    sock.sendall(b"first part;")
    sock.sendall(b"second part")
    received = b""
    while len(received) < len(b"HELLO tapshim\\n" + b"first part;second part"):
        received += sock.recv(65536)
    sys.stdout.buffer.write(received)
    sock.unwrap().close()
""")


class PreloadTwiceTest(TapTestCase):

    def copy_of_library(self, name):
        """A copy of the library under another path (another inode, so the
        loader cannot tell it is the same library)."""
        directory = os.path.join(self.dir, name)
        os.mkdir(directory)
        path = os.path.join(directory, "libtapshim.so")
        shutil.copy2(TAPSHIM_LIB, path)
        return path

    def loaded_copies(self, preload):
        """The objects of the library a program with LD_PRELOAD=`preload`
        has loaded (from its /proc/self/maps)."""
        env = dict(os.environ, LD_PRELOAD=preload)
        done = subprocess.run(["cat", "/proc/self/maps"], env=env, capture_output=True, text=True, check=True)
        return {line.split()[-1] for line in done.stdout.splitlines() if line.endswith("libtapshim.so")}

    def run_client(self, preload, **variables):
        env = shim_env(self.prefix, **variables)
        env["LD_PRELOAD"] = preload
        with EchoServer() as server:
            done = subprocess.run([PYTHON, "-c", CLIENT, str(server.port)], env=env, capture_output=True,
                                  timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            [connection] = server.wait_closed(1)
        self.assertEqual(done.stdout, SENT)
        self.assertEqual(bytes(connection.received), SENT)
        return done, connection

    def check_one_trace(self, preload, copies, **variables):
        self.assertEqual(len(self.loaded_copies(preload)), copies, preload)
        done, connection = self.run_client(preload, **variables)
        self.assertNotIn(b"tapshim:", done.stderr)
        traces = self.traces()
        self.assertEqual(len(traces), 1, f"LD_PRELOAD={preload}: {traces}")
        [trace] = traces
        self.assertEqual(trace.local, ("127.0.0.1", connection.peer[1]))
        self.assertEqual(trace.origin, "OUTBOUND")
        self.assertEqual(trace.sent(), SENT)
        self.assertEqual(trace.received(), SENT)
        # Each call recorded once: two writes, no doubled events.
        self.assertEqual([e.data for e in trace.events if e.kind == "write"], [b"first part;", b"second part"])

    def test_same_path_twice(self):
        self.check_one_trace(f"{TAPSHIM_LIB} {TAPSHIM_LIB}", copies=1)

    def test_two_copies(self):
        self.check_one_trace(f"{TAPSHIM_LIB} {self.copy_of_library('copy')}", copies=2)

    def test_two_copies_streamed(self):
        self.check_one_trace(f"{self.copy_of_library('copy')}:{TAPSHIM_LIB}", copies=2, TAP_STREAMING=1)

    def test_three_copies(self):
        first, second = self.copy_of_library("first"), self.copy_of_library("second")
        self.check_one_trace(f"{first} {TAPSHIM_LIB} {second}", copies=3)

    def test_two_copies_tls(self):
        cert, key = make_certificate(self.dir)
        env = tls_env(self.prefix)
        env["LD_PRELOAD"] = f"{TAPSHIM_LIB} {self.copy_of_library('copy')}"
        with TLSEchoServer(cert, key) as server:
            done = subprocess.run([PYTHON, "-c", TLS_CLIENT, str(server.port), cert], env=env, capture_output=True,
                                  timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            [connection] = server.wait_closed(1)
        self.assertEqual(bytes(connection.received), SENT)
        self.assertEqual(done.stdout, bytes(connection.sent))
        self.assertNotIn(b"tapshim:", done.stderr)
        traces = self.traces()
        self.assertEqual(len(traces), 1, traces)
        [trace] = traces
        self.assertEqual(trace.sent(), SENT)
        self.assertEqual(trace.received(), bytes(connection.sent))
        self.assertFalse(trace.undecrypted_tls)

    def test_two_copies_ended_by_a_signal(self):
        """The tapping copy's stand-in handler writes the trace once, and
        the process still ends by the signal."""
        script = textwrap.dedent("""
            import os, signal, socket, sys
            sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
            sock.sendall(b"before the signal")
            assert sock.recv(100) == b"before the signal"
            os.kill(os.getpid(), signal.SIGTERM)
        """)
        env = shim_env(self.prefix)
        env["LD_PRELOAD"] = f"{TAPSHIM_LIB} {self.copy_of_library('copy')}"
        with EchoServer() as server:
            done = subprocess.run([PYTHON, "-c", script, str(server.port)], env=env, capture_output=True, timeout=60)
            server.wait_closed(1)
        self.assertEqual(done.returncode, -15, done.stderr)
        [trace] = self.traces()
        self.assertEqual(trace.sent(), b"before the signal")
        self.assertEqual(trace.received(), b"before the signal")

    def test_a_configuration_error_is_said_once(self):
        """Only the tapping copy reads the configuration."""
        env = shim_env(self.prefix, TAP_MAX_BUFFERED_RX_BYTES="lots")
        env["LD_PRELOAD"] = f"{TAPSHIM_LIB} {self.copy_of_library('copy')}"
        done = subprocess.run(["true"], env=env, capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = [line for line in done.stderr.decode().splitlines() if line.startswith("tapshim:")]
        self.assertEqual(len(lines), 1, done.stderr)
        self.assertIn("TAP_MAX_BUFFERED_RX_BYTES", lines[0])


if __name__ == "__main__":
    unittest.main()
