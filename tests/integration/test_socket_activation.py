"""Servers started by socket activation: the listening socket is fd 3,
created by the parent (systemd, or a launcher that does as systemd does:
LISTEN_FDS=1, LISTEN_PID=the server's pid), so the shim never saw its
socket(), bind() or listen(). accept() is hooked, so the connections the
server accepts on it are traced as any server's: one trace each, with
their addresses, origin INBOUND and the exact bytes.

Three launchers: a Python one in this file (always there), systemd's
systemd-socket-activate (package systemd; the test skips without it), and
lighttpd started by it with server.systemd-socket-activation (a real
program that takes its listening socket from LISTEN_FDS).
"""
import os
import shutil
import socket
import subprocess
import textwrap
import time
import unittest

from servers import PYTHON, wait_until
from tapshim_testlib import TAPSHIM_LIB, TapTestCase, free_port, shim_env

SOCKET_ACTIVATE = shutil.which("systemd-socket-activate") or ""
LIGHTTPD = "/usr/sbin/lighttpd"

# Does what systemd does for a socket unit with Accept=no: the listening
# socket on fd 3, LISTEN_FDS=1 and LISTEN_PID=its own pid, then execs the
# server in the same process. It runs without the shim: LD_PRELOAD is given
# to the server only (SERVER_LD_PRELOAD).
LAUNCHER = textwrap.dedent("""
    import os, socket, sys
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(16)
    if listener.fileno() != 3:
        os.dup2(listener.fileno(), 3)
        listener.close()
    os.set_inheritable(3, True)
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    env["LD_PRELOAD"] = env.pop("SERVER_LD_PRELOAD")
    os.execve(sys.argv[2], sys.argv[2:], env)
""")

# A socket-activated echo server: fd 3 is its listening socket; it checks
# that the activation is for it, as sd_listen_fds() does.
SERVER = textwrap.dedent("""
    import os, socket, sys
    assert os.environ.get("LISTEN_PID") == str(os.getpid()), os.environ.get("LISTEN_PID")
    assert os.environ.get("LISTEN_FDS") == "1"
    listener = socket.socket(fileno=3)
    assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    for _ in range(int(sys.argv[1])):
        connection, _ = listener.accept()
        line = b""
        while not line.endswith(b"\\n"):
            chunk = connection.recv(100)
            if not chunk:
                break
            line += chunk
        connection.sendall(b"echo:" + line)
        connection.close()
""")

# Accept=yes: fd 3 is one connection, accepted by the parent.
CONNECTED_SERVER = textwrap.dedent("""
    import socket
    connection = socket.socket(fileno=3)
    line = b""
    while not line.endswith(b"\\n"):
        chunk = connection.recv(100)
        if not chunk:
            break
        line += chunk
    connection.sendall(b"echo:" + line)
    connection.close()
""")


def exchange(port, line, timeout=30.0):
    """Connects (retrying until the server listens), sends `line`, reads to
    EOF; returns (client port, answer)."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(30)
            sock.connect(("127.0.0.1", port))
            break
        except ConnectionRefusedError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    with sock:
        client_port = sock.getsockname()[1]
        sock.sendall(line)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return client_port, answer


class SocketActivationTest(TapTestCase):

    def start(self, command, env, stdout=subprocess.DEVNULL):
        """Starts a launcher; the test's cleanup ends and reaps it."""
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                                   stderr=subprocess.PIPE)

        def stop():
            if process.poll() is None:
                process.kill()
            process.communicate()
        self.addCleanup(stop)
        return process

    def check_traces(self, port, exchanged, pid, name_prefix):
        """One trace per exchange (none for the listening socket), accepted
        on `port`, with the exact bytes each way."""
        traces = wait_until(lambda: len(self.traces()) >= len(exchanged) and self.traces(), 30,
                            f"{len(exchanged)} traces")
        self.assertEqual(len(traces), len(exchanged), traces)
        by_port = {t.remote[1]: t for t in traces}
        self.assertEqual(sorted(by_port), sorted(exchanged))
        for client_port, (request, response) in exchanged.items():
            trace = by_port[client_port]
            self.assertEqual(trace.local, ("127.0.0.1", port), trace)
            self.assertEqual(trace.remote, ("127.0.0.1", client_port), trace)
            self.assertEqual(trace.origin, "INBOUND", trace)
            self.assertEqual(trace.pid, pid, trace)
            self.assertTrue(trace.process_name.startswith(name_prefix), trace.process_name)
            self.assertEqual(trace.received(), request, trace)
            self.assertEqual(trace.sent(), response, trace)

    def run_echo(self, command, port, env, count=3):
        server = self.start(command, env)
        exchanged = {}
        for n in range(count):
            request = b"activated %d\n" % n
            client_port, answer = exchange(port, request)
            self.assertEqual(answer, b"echo:" + request)
            exchanged[client_port] = (request, answer)
        _, stderr = server.communicate(timeout=60)
        self.assertEqual(server.returncode, 0, stderr)
        self.assertNotIn(b"tapshim:", stderr)
        return server, exchanged

    def test_python_launcher(self):
        """LISTEN_FDS set by a launcher that execs the server in its own
        process, as systemd does."""
        port = free_port()
        env = shim_env(self.prefix)
        env["SERVER_LD_PRELOAD"] = env.pop("LD_PRELOAD")
        server, exchanged = self.run_echo([PYTHON, "-c", LAUNCHER, str(port), PYTHON, "-c", SERVER, "3"], port,
                                          env)
        self.check_traces(port, exchanged, server.pid, "python")

    def socket_activate(self, port, *variables):
        if not SOCKET_ACTIVATE:
            self.skipTest("no systemd-socket-activate (Debian's systemd package; scripts/setup installs it)")
        # systemd-socket-activate passes the child only the variables given
        # with -E; it runs untapped itself.
        settings = [f"LD_PRELOAD={TAPSHIM_LIB}", f"TAP_PATH_PREFIX={self.prefix}", *variables]
        return [SOCKET_ACTIVATE, "-l", f"127.0.0.1:{port}", *(f"-E{s}" for s in settings)]

    def test_systemd_socket_activate(self):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("TAP_")}
        server, exchanged = self.run_echo(self.socket_activate(port) + [PYTHON, "-c", SERVER, "3"], port, env)
        self.check_traces(port, exchanged, server.pid, "python")

    def test_accepted_by_the_parent_is_adopted(self):
        """systemd's Accept=yes (inetd's way): the parent accepts and passes
        the connected socket on fd 3 to a server per connection. The shim
        never saw the accept: the socket is adopted at its first I/O, with
        its addresses and origin UNKNOWN."""
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("TAP_")}
        self.start(self.socket_activate(port) + ["--accept", PYTHON, "-c", CONNECTED_SERVER], env)
        request = b"accepted by the parent\n"
        client_port, answer = exchange(port, request)
        self.assertEqual(answer, b"echo:" + request)
        [trace] = wait_until(self.traces, 30, "the trace")
        self.assertEqual(trace.local, ("127.0.0.1", port))
        self.assertEqual(trace.remote, ("127.0.0.1", client_port))
        self.assertEqual(trace.origin, "UNKNOWN")
        self.assertEqual(trace.received(), request)
        self.assertEqual(trace.sent(), answer)

    def test_lighttpd_activated_by_systemd_socket_activate(self):
        """A real server that supports socket activation: lighttpd takes
        127.0.0.1:port from fd 3 instead of binding it."""
        if not os.path.exists(LIGHTTPD):
            self.skipTest("no lighttpd")
        port = free_port()
        root = os.path.join(self.dir, "www")
        os.mkdir(root)
        page = b"<html>lighttpd, socket-activated, tapped</html>\n"
        with open(os.path.join(root, "index.html"), "wb") as f:
            f.write(page)
        conf = os.path.join(self.dir, "lighttpd.conf")
        with open(conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                server.document-root = "{root}"
                server.bind = "127.0.0.1"
                server.port = {port}
                server.systemd-socket-activation = "enable"
                server.errorlog = "{self.dir}/error.log"
                mimetype.assign = (".html" => "text/html")
                """))
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("TAP_")}
        server = self.start(self.socket_activate(port) + [LIGHTTPD, "-D", "-f", conf], env)
        exchanged = {}
        for n in range(2):
            request = f"GET /index.html HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nX-N: {n}\r\n\r\n".encode()
            client_port, answer = exchange(port, request)
            self.assertTrue(answer.startswith(b"HTTP/1.0 200 OK\r\n"), answer[:80])
            self.assertTrue(answer.endswith(page), answer[-80:])
            exchanged[client_port] = (request, answer)
        # lighttpd writes each trace when it closes the connection.
        self.check_traces(port, exchanged, server.pid, "lighttpd")
        server.terminate()
        _, stderr = server.communicate(timeout=30)
        self.assertNotIn(b"tapshim:", stderr)
        with open(os.path.join(self.dir, "error.log"), "rb") as log:
            self.assertNotIn(b"bind", log.read())  # it bound nothing itself
        self.assertEqual(len(self.traces()), len(exchanged))


if __name__ == "__main__":
    unittest.main()
