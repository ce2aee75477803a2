"""A server that drops its privileges after binding (as apache's workers
run as www-data): a trace directory its start-up user could write may be
closed to the user it runs as. The connections are then not traced, and
the one line that says so names the user and group the kernel refused and
the directory, so the fix (a directory that user can write) is plain."""
import os
import socket
import subprocess
import textwrap
import unittest

from servers import PYTHON
from tapshim_testlib import TapTestCase, free_port, shim_env

NOBODY = 65534

SERVER = textwrap.dedent("""
    import os, socket, sys
    server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    print("ready", flush=True)
    connection, _ = server.accept()
    connection.sendall(connection.recv(100))
    connection.close()
""")


class PrivilegeDropTest(TapTestCase):

    def test_the_refused_user_is_named(self):
        if os.geteuid() != 0:
            self.fail("this test drops privileges: it must run as root (as CI does)")
        port = free_port()
        os.chmod(self.dir, 0o700)  # root's: closed to nobody
        server = subprocess.Popen([PYTHON, "-c", SERVER, str(port)], env=shim_env(self.prefix),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertEqual(server.stdout.readline(), b"ready\n")
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(b"ping")
                self.assertEqual(sock.recv(100), b"ping")
            _, stderr = server.communicate(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        self.assertEqual(server.returncode, 0, stderr)
        lines = [line for line in stderr.decode().splitlines() if line.startswith("tapshim:")]
        self.assertEqual(len(lines), 1, stderr)
        self.assertIn("cannot create trace file " + self.prefix, lines[0])
        self.assertIn(f"Permission denied (as uid {NOBODY}, gid {NOBODY}, who must be able to "
                      f"create files in {self.dir})", lines[0])
        self.assertEqual(self.trace_files(), [])


if __name__ == "__main__":
    unittest.main()
