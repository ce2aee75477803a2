"""A Go program loads the shim when it is linked with libc (cgo), yet Go's
network calls are its own system calls: no hook sees them, and the result
would be silently empty. The shim says so once when the program starts,
and the launcher warns before running it. The program's behaviour is
unchanged."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

from cli_testlib import LAUNCHER, clean_env
from tapshim_testlib import TapTestCase, shim_env

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM_LINE = ("is a Go program: its network calls are Go's own system calls, which bypass libc, "
             "so they cannot be tapped")


def build_go_client(directory):
    go = shutil.which("go")
    if go is None:
        raise AssertionError("go not found (./scripts/setup installs golang-go)")
    env = dict(os.environ, HOME=directory, GOCACHE=os.path.join(directory, "cache"),
               GOPATH=os.path.join(directory, "gopath"), GO111MODULE="off", CGO_ENABLED="1",
               GOFLAGS="")
    env.pop("LD_PRELOAD", None)
    output = os.path.join(directory, "goclient")
    subprocess.run([go, "build", "-o", output, os.path.join(HERE, "go_client", "main.go")],
                   env=env, check=True, capture_output=True, timeout=300)
    return output


class OneReplyServer:
    """Accepts connections, reads a line, answers "hi"."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            with connection:
                connection.recv(100)
                connection.sendall(b"hi\n")


class GoProgramTest(TapTestCase):

    @classmethod
    def setUpClass(cls):
        cls.build_dir = tempfile.mkdtemp(prefix="tapshim-go-")
        cls.client = build_go_client(cls.build_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.build_dir, ignore_errors=True)

    def test_the_shim_says_once_that_go_cannot_be_tapped(self):
        server = OneReplyServer()
        done = subprocess.run([self.client, f"127.0.0.1:{server.port}"], env=shim_env(self.prefix),
                              capture_output=True, timeout=60)
        self.assertEqual((done.returncode, done.stdout), (0, b"hi\n"), done.stderr)
        lines = [line for line in done.stderr.decode().splitlines() if line.startswith("tapshim:")]
        self.assertEqual(lines, [f"tapshim: goclient {SHIM_LINE}"])
        self.assertEqual(self.trace_files(), [])

    def test_the_launcher_warns_before_running_it(self):
        server = OneReplyServer()
        done = subprocess.run([LAUNCHER, "-o", self.prefix, "--", self.client,
                               f"127.0.0.1:{server.port}"], env=clean_env(), capture_output=True,
                              timeout=60)
        self.assertEqual((done.returncode, done.stdout), (0, b"hi\n"), done.stderr)
        self.assertIn(b"tapshim: warning: " + self.client.encode() + b" is a Go program",
                      done.stderr)


if __name__ == "__main__":
    unittest.main()
