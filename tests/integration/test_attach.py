"""Standby and `tapshim attach`: a python3 echo server started in standby
under the shim (TAP_STANDBY=1) records nothing until an attach, which taps
it for as long as the attacher lives.

The server echoes "echo:" + what it receives, a thread per connection, and
has a ticker thread that writes and reads a pipe every 50 ms, as a program
that logs would: those are hooked calls, at which the shim notices the
attach (or its end). Each test gets an XDG_RUNTIME_DIR of its own (0700),
so the rendezvous directory is private to it.

The attach's trace files are read while it runs (the attach removes them
when it ends normally); the live output (tapshim-view --follow, tap2pcap
--follow) is checked too.
"""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from servers import PYTHON
from tapshim_testlib import TapTestCase, decode, free_port, shim_env, wait_for_port

LAUNCHER = os.environ.get("TAPSHIM_LAUNCHER", "")
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"

SERVER = r"""
import os, socket, sys, threading, time
ports = [int(p) for p in sys.argv[1:]]
def ticker():
    r, w = os.pipe()
    while True:
        os.write(w, b"t"); os.read(r, 1); time.sleep(0.05)
def serve(c):
    while True:
        data = c.recv(65536)
        if not data:
            break
        c.sendall(b"echo:" + data)
    c.close()
def listen(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
threading.Thread(target=ticker, daemon=True).start()
for port in ports[1:]:
    threading.Thread(target=listen, args=(port,), daemon=True).start()
listen(ports[0])
"""


def exchange(sock, data):
    """Sends `data` and reads back the whole echo."""
    sock.sendall(data)
    want = b"echo:" + data
    got = b""
    while len(got) < len(want):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    assert got == want, (got, want)


def one_connection(port, data):
    """A connection that exchanges `data` once and closes; its client port."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        exchange(sock, data)
        return sock.getsockname()[1]


class Attach:
    """A running `tapshim attach`; `attached` once it said so."""

    def __init__(self, pid, *flags, user=None, env=None):
        command = [LAUNCHER, "attach", str(pid), *flags]
        if user is not None:
            command = [SETPRIV, f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env=env)
        self.stderr_lines = []

    def wait_attached(self, timeout=10):
        """Reads stderr until the attach says it is attached (True) or ends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stderr.readline().decode()
            if not line:
                return False
            self.stderr_lines.append(line)
            if "attached to" in line:
                return True
        return False

    def end(self, sig=signal.SIGINT, timeout=30):
        """Ends the attach as Ctrl-C would; returns (status, stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out.decode(), "".join(self.stderr_lines) + err.decode()


class AttachTestCase(TapTestCase):

    def setUp(self):
        super().setUp()
        if not LAUNCHER or not os.path.exists(LAUNCHER):
            self.fail("TAPSHIM_LAUNCHER is not set to the built launcher")
        self.runtime = os.path.join(self.dir, "runtime")
        os.mkdir(self.runtime, 0o700)
        self.rendezvous = os.path.join(self.runtime, "tapshim")

    def start_server(self, ports, preexec_fn=None, runtime=None, python=PYTHON, **variables):
        env = shim_env(TAP_STANDBY=1, XDG_RUNTIME_DIR=runtime or self.runtime, **variables)
        server = subprocess.Popen([python, "-c", SERVER, *map(str, ports)], env=env, cwd=self.dir,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  preexec_fn=preexec_fn)
        self.addCleanup(self.stop, server)
        for port in ports:
            wait_for_port(port)
        return server

    def stop(self, server):
        if server.poll() is None:
            server.kill()
        server.wait()
        server.stderr.close()

    def live_traces(self, rendezvous=None):
        """The traces in the attach's directory now."""
        directories = [d for d in glob.glob(os.path.join(rendezvous or self.rendezvous, "attach-*"))
                       if os.path.isdir(d)]
        self.assertEqual(len(directories), 1, directories)
        return decode(sorted(glob.glob(os.path.join(directories[0], "trace_*"))))

    def trace_of_client(self, traces, client_port):
        found = [t for t in traces if t.remote and t.remote[1] == client_port]
        return found[0] if len(found) == 1 else None


class StandbyTest(AttachTestCase):

    def test_standby_records_nothing_and_creates_no_file(self):
        port = free_port()
        server = self.start_server([port])
        for i in range(3):
            one_connection(port, b"standby %d" % i)
        time.sleep(0.3)  # a few checks for a request have run
        self.assertEqual(os.listdir(self.runtime), [])  # no rendezvous directory made
        self.assertEqual(sorted(os.listdir(self.dir)), ["runtime"])  # nothing in its cwd
        self.assertIsNone(server.poll())
        server.kill()
        server.wait()
        self.assertEqual(server.stderr.read(), b"")  # not a word from the shim


class AttachTest(AttachTestCase):

    def test_attach_taps_from_the_attach_to_the_detach(self):
        port = free_port()
        server = self.start_server([port])
        # Before: a connection that ends before the attach is not traced.
        before = one_connection(port, b"before the attach")
        # Across: open before the attach, still open after it.
        across = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(across.close)
        exchange(across, b"early, not traced")
        across_port = across.getsockname()[1]

        attach = Attach(server.pid)
        self.assertTrue(attach.wait_attached(), attach.stderr_lines)
        # Its server thread was in recv when the attach began: that call is
        # not recorded (it began untapped), its echo and all after it are.
        exchange(across, b"late one")
        exchange(across, b"late two")
        # During: connections made while attached are traced whole. The
        # first one's accept was under way at the attach: the shim sees it
        # at its first read, from its first byte, but cannot tell its side.
        first = one_connection(port, b"accepted across the attach")
        during = one_connection(port, b"during the attach")
        time.sleep(0.3)
        traces = self.live_traces()

        status, out, err = attach.end()
        self.assertEqual(status, 0, err)
        # After: nothing is traced once the attach has ended.
        after = one_connection(port, b"after the detach")

        self.assertIsNone(self.trace_of_client(traces, before), traces)
        self.assertIsNone(self.trace_of_client(traces, after), traces)
        late = self.trace_of_client(traces, across_port)
        self.assertIsNotNone(late, traces)
        self.assertEqual(late.raw[0]["socket_streamed_trace_segment"]["tapshim_process"].get(
            "joined_late"), True)
        self.assertEqual(late.origin, "UNKNOWN")
        self.assertEqual([(e.kind, e.data) for e in late.events],
                         [("write", b"echo:late one"), ("read", b"late two"),
                          ("write", b"echo:late two")])
        seen_whole = self.trace_of_client(traces, first)
        self.assertIsNotNone(seen_whole, traces)
        self.assertNotIn("joined_late", seen_whole.raw[0]["socket_streamed_trace_segment"].get(
            "tapshim_process", {}))
        self.assertEqual(seen_whole.received(), b"accepted across the attach")
        self.assertEqual(seen_whole.sent(), b"echo:accepted across the attach")
        whole = self.trace_of_client(traces, during)
        self.assertIsNotNone(whole, traces)
        self.assertNotIn("joined_late", whole.raw[0]["socket_streamed_trace_segment"].get(
            "tapshim_process", {}))
        self.assertEqual(whole.origin, "INBOUND")
        self.assertEqual(whole.received(), b"during the attach")
        self.assertEqual(whole.sent(), b"echo:during the attach")
        self.assertEqual(whole.events[-1].kind, "closed")
        # The live lines named the connection made during the attach.
        self.assertIn(f":{during}", out)
        self.assertIn("during the attach", out)
        # Everything of the attach is gone; the shim said nothing.
        self.assertEqual(os.listdir(self.rendezvous), [])
        server.kill()
        server.wait()
        self.assertEqual(server.stderr.read(), b"")

    def test_match_selects_connections(self):
        tapped_port, other_port = free_port(), free_port()
        server = self.start_server([tapped_port, other_port])
        attach = Attach(server.pid, "--match", f"port {tapped_port}")
        self.assertTrue(attach.wait_attached(), attach.stderr_lines)
        tapped = one_connection(tapped_port, b"matched")
        other = one_connection(other_port, b"not matched")
        time.sleep(0.3)
        traces = self.live_traces()
        status, _, err = attach.end()
        self.assertEqual(status, 0, err)
        self.assertEqual([t.remote[1] for t in traces], [tapped], traces)
        self.assertNotEqual(tapped, other)

    def test_a_bad_match_is_refused_by_the_process(self):
        port = free_port()
        server = self.start_server([port])
        attach = Attach(server.pid, "--match", "port banana")
        status = attach.process.wait(timeout=30)
        err = attach.process.stderr.read().decode()
        self.assertEqual(status, 1, err)
        self.assertIn(f"process {server.pid} refused the attach", err)
        self.assertIn("banana", err)
        self.assertEqual(os.listdir(self.rendezvous), [])

    def test_second_attach_is_refused_naming_the_holder(self):
        port = free_port()
        server = self.start_server([port])
        first = Attach(server.pid)
        self.assertTrue(first.wait_attached(), first.stderr_lines)
        second = subprocess.run([LAUNCHER, "attach", str(server.pid)], capture_output=True,
                                text=True, timeout=30)
        self.assertEqual(second.returncode, 1, second.stderr)
        self.assertIn(f"already attached to, by tapshim attach (pid {first.process.pid})",
                      second.stderr)
        self.assertEqual(len(second.stderr.splitlines()), 1, second.stderr)
        # The first goes on.
        during = one_connection(port, b"still attached")
        time.sleep(0.3)
        self.assertIsNotNone(self.trace_of_client(self.live_traces(), during))
        status, _, err = first.end()
        self.assertEqual(status, 0, err)

    def test_a_process_not_in_standby_is_refused(self):
        port = free_port()
        untapped = subprocess.Popen([PYTHON, "-c", SERVER, str(port)], cwd=self.dir,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (untapped.kill(), untapped.wait()))
        wait_for_port(port)
        done = subprocess.run([LAUNCHER, "attach", str(untapped.pid)], capture_output=True,
                              text=True, timeout=30)
        self.assertEqual(done.returncode, 1)
        self.assertIn("has no libtapshim.so loaded", done.stderr)
        port = free_port()
        tapping = subprocess.Popen([PYTHON, "-c", SERVER, str(port)], cwd=self.dir,
                                   env=shim_env(os.path.join(self.dir, "t")),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (tapping.kill(), tapping.wait()))
        wait_for_port(port)
        done = subprocess.run([LAUNCHER, "attach", str(tapping.pid)], capture_output=True,
                              text=True, timeout=30)
        self.assertEqual(done.returncode, 1)
        self.assertIn("was not started in standby", done.stderr)

    def test_killed_attacher_detaches_and_its_request_is_replaced(self):
        port = free_port()
        server = self.start_server([port])
        attach = Attach(server.pid)
        self.assertTrue(attach.wait_attached(), attach.stderr_lines)
        conn = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(conn.close)
        exchange(conn, b"while attached")
        time.sleep(0.2)
        directory = [d for d in glob.glob(os.path.join(self.rendezvous, "attach-*"))
                     if os.path.isdir(d)][0]
        attach.process.kill()  # SIGKILL: nothing of the attacher's runs
        attach.process.wait()
        # The ticker's next check finds the lock gone: the trace ends.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                traces = decode(sorted(glob.glob(os.path.join(directory, "trace_*"))))
            except AssertionError:
                continue  # read while a message was being written: look again
            if traces and traces[0].events and traces[0].events[-1].kind == "closed":
                break
        self.assertEqual(len(traces), 1, traces)
        self.assertEqual([(e.kind, e.data) for e in traces[0].events],
                         [("read", b"while attached"), ("write", b"echo:while attached"),
                          ("closed", b"")])
        exchange(conn, b"after the attacher died")  # not traced
        time.sleep(0.3)
        after = decode(sorted(glob.glob(os.path.join(directory, "trace_*"))))
        self.assertEqual(len(after[0].events), 3, after)
        # The stale request is still there, unlocked; the next attach takes over.
        self.assertIn(f"{server.pid}.attach", os.listdir(self.rendezvous))
        again = Attach(server.pid)
        self.assertTrue(again.wait_attached(), again.stderr_lines)
        status, _, err = again.end()
        self.assertEqual(status, 0, err)

    def test_live_capture_reassembles_in_tshark(self):
        tshark = shutil.which("tshark")
        if tshark is None:
            self.fail("tshark is not installed (scripts/setup installs it)")
        port = free_port()
        server = self.start_server([port])
        across = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(across.close)
        exchange(across, b"early")
        capture = os.path.join(self.dir, "live.pcapng")
        attach = Attach(server.pid, "-w", capture)
        self.assertTrue(attach.wait_attached(), attach.stderr_lines)
        warm = one_connection(port, b"accept under way")
        request = b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n" * 50
        during = one_connection(port, request)
        exchange(across, b"late")
        exchange(across, b"later")
        time.sleep(0.3)
        status, _, err = attach.end()
        self.assertEqual(status, 0, err)
        fields = subprocess.run([tshark, "-n", "-r", capture, "-T", "fields", "-e", "tcp.srcport",
                                 "-e", "tcp.dstport", "-e", "tcp.payload"],
                                capture_output=True, text=True, timeout=60, check=True).stdout

        def stream(source, destination):
            data = b""
            for line in fields.splitlines():
                parts = line.split("\t")
                if parts[:2] == [str(source), str(destination)] and len(parts) > 2 and parts[2]:
                    data += bytes.fromhex(parts[2].replace(":", ""))
            return data

        self.assertEqual(stream(during, port), request)
        self.assertEqual(stream(port, during), b"echo:" + request)
        self.assertEqual(stream(warm, port), b"accept under way")
        across_port = across.getsockname()[1]
        # Joined late: from the attach on ("late"'s read was under way).
        self.assertEqual(stream(across_port, port), b"later")
        self.assertEqual(stream(port, across_port), b"echo:lateecho:later")

    def test_launcher_standby_admin_config_and_attach_config(self):
        """tapshim --standby, and TAP_CONFIG's admin_config, wait for an
        attach; an attach's --config brings Envoy's match and limits."""
        config = os.path.join(self.dir, "attach.yaml")
        with open(config, "w") as f:
            f.write("match: {any_match: true}\n"
                    "output_config:\n"
                    "  max_buffered_rx_bytes: 4\n"
                    "  sinks: [{file_per_tap: {path_prefix: /nowhere/else}}]\n")
        admin = os.path.join(self.dir, "admin.yaml")
        with open(admin, "w") as f:
            f.write("common_config: {admin_config: {config_id: live}}\n")
        for how in ("launcher", "admin_config"):
            with self.subTest(how=how):
                port = free_port()
                if how == "launcher":
                    env = dict(os.environ, XDG_RUNTIME_DIR=self.runtime)
                    if os.environ.get("TAPSHIM_PRELOAD_FIRST"):  # a sanitizer's runtime stays first
                        env["LD_PRELOAD"] = os.environ["TAPSHIM_PRELOAD_FIRST"]
                    command = [LAUNCHER, "--standby", "--", PYTHON, "-c", SERVER, str(port)]
                else:
                    env = shim_env(TAP_CONFIG=admin, XDG_RUNTIME_DIR=self.runtime)
                    command = [PYTHON, "-c", SERVER, str(port)]
                server = subprocess.Popen(command, env=env, cwd=self.dir,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                self.addCleanup(self.stop, server)
                wait_for_port(port)
                attach = Attach(server.pid, "--config", config)
                self.assertTrue(attach.wait_attached(), attach.stderr_lines)
                during = one_connection(port, b"cut at four")
                time.sleep(0.3)
                trace = self.trace_of_client(self.live_traces(), during)
                status, _, err = attach.end()
                self.assertEqual(status, 0, err)
                # The config's limit, the attach's place.
                self.assertEqual(trace.received(), b"cut ")
                self.assertTrue(trace.events[0].truncated)
                self.assertFalse(os.path.exists("/nowhere"))
                self.stop(server)

    def test_forked_children_standby_and_attached(self):
        """A child forked in standby waits for its own attach; a child
        forked while attached stays attached while the attacher lives."""
        script = (
            "import os, sys, time\n"
            "def child(tag):\n"
            "    if os.fork() == 0:\n"
            "        r, w = os.pipe()\n"
            "        while True:\n"
            "            os.write(w, b't'); os.read(r, 1); time.sleep(0.05)\n"
            "    \n"
            "child('standby')\n"
            "import threading\n"
            "def ticker():\n"
            "    r, w = os.pipe()\n"
            "    while True:\n"
            "        os.write(w, b't'); os.read(r, 1); time.sleep(0.05)\n"
            "threading.Thread(target=ticker, daemon=True).start()\n"
            "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
            "sys.stdin.readline()\n"
            "if os.fork() == 0:\n"
            "    import socket\n"
            "    c = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
            "    c.sendall(b'from the attached child'); c.recv(100); c.close()\n"
            "    os._exit(0)\n"
            "os.wait()\n"
            "sys.stdout.write('done\\n'); sys.stdout.flush()\n"
            "sys.stdin.readline()\n")
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(4)
            port = listener.getsockname()[1]
            parent = subprocess.Popen([PYTHON, "-c", script, str(port)], cwd=self.dir,
                                      env=shim_env(TAP_STANDBY=1, XDG_RUNTIME_DIR=self.runtime),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.addCleanup(lambda: (parent.kill(), parent.wait()))
            self.assertEqual(parent.stdout.readline(), b"ready\n")
            children = [int(p) for p in open(f"/proc/{parent.pid}/task/{parent.pid}/children")
                        .read().split()]
            self.assertEqual(len(children), 1)
            self.addCleanup(lambda: os.kill(children[0], signal.SIGKILL))
            # The standby child answers an attach of its own pid.
            child_attach = Attach(children[0])
            self.assertTrue(child_attach.wait_attached(), child_attach.stderr_lines)
            self.assertEqual(child_attach.end()[0], 0)
            # The parent, attached, forks a child that connects.
            attach = Attach(parent.pid)
            self.assertTrue(attach.wait_attached(), attach.stderr_lines)
            parent.stdin.write(b"go\n")
            parent.stdin.flush()
            accepted, _ = listener.accept()
            with accepted:
                self.assertEqual(accepted.recv(100), b"from the attached child")
                accepted.sendall(b"ok")
            self.assertEqual(parent.stdout.readline(), b"done\n")
            time.sleep(0.3)
            traces = self.live_traces()
            status, _, err = attach.end()
            self.assertEqual(status, 0, err)
        self.assertEqual(len(traces), 1, traces)
        self.assertNotEqual(traces[0].pid, parent.pid)
        self.assertEqual(traces[0].origin, "OUTBOUND")
        self.assertEqual(traces[0].sent(), b"from the attached child")

    def test_bad_command_lines(self):
        for args, message in (
            (["attach"], "attach: no PID given"),
            (["attach", "12x"], "'12x' is not a process id"),
            (["attach", "1", "2"], "one PID only"),
            (["attach", "1", "--bogus"], "unknown flag --bogus"),
            (["attach", "1", "--match"], "--match needs a value"),
            (["attach", "1", "--duration", "-1"], "is not a positive number of seconds"),
            (["attach", "1", "--max-rx-bytes", "lots"], "is not a byte count"),
            (["attach", "1", "--match", "a", "--match", "b"], "--match given twice"),
            (["--standby", "-o", "/tmp/x", "--", "true"], "--standby cannot be given with -o"),
        ):
            with self.subTest(args=args):
                done = subprocess.run([LAUNCHER, *args], capture_output=True, text=True, timeout=30)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertIn(message, done.stderr)
                self.assertEqual(len(done.stderr.splitlines()), 1, done.stderr)
        missing = subprocess.run([LAUNCHER, "attach", "999999999"], capture_output=True,
                                 text=True, timeout=30)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no process 999999999", missing.stderr)
        usage = subprocess.run([LAUNCHER, "attach", "--help"], capture_output=True, text=True)
        self.assertEqual(usage.returncode, 0)
        self.assertIn("--duration SECONDS", usage.stdout)


class OtherUserTest(AttachTestCase):
    """Only the process's own user, or root, may attach."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root, to run the other side as nobody")
        self.nobody = pwd.getpwnam("nobody").pw_uid
        os.chmod(self.dir, 0o711)  # nobody may pass through to its own directory

    def test_nobody_cannot_attach_to_roots_process(self):
        port = free_port()
        server = self.start_server([port])
        done = subprocess.run([SETPRIV, f"--reuid={self.nobody}", f"--regid={self.nobody}",
                               "--clear-groups", LAUNCHER, "attach", str(server.pid)],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn(f"runs as uid 0: only its own user or root can attach", done.stderr)
        self.assertFalse(os.path.exists(self.rendezvous))

    def test_root_attaches_to_nobodys_process_and_its_files_are_nobodys(self):
        runtime = os.path.join(self.dir, "nobody-runtime")
        os.mkdir(runtime, 0o700)
        os.chown(runtime, self.nobody, self.nobody)
        port = free_port()
        nobody = self.nobody

        def become_nobody():
            os.setgroups([])
            os.setgid(nobody)
            os.setuid(nobody)

        # Debian's python3: the build's may live where nobody cannot read.
        server = self.start_server([port], preexec_fn=become_nobody, runtime=runtime,
                                   python="/usr/bin/python3")
        attach = Attach(server.pid)
        self.assertTrue(attach.wait_attached(), attach.stderr_lines)
        during = one_connection(port, b"nobody's")
        time.sleep(0.3)
        rendezvous = os.path.join(runtime, "tapshim")
        traces = self.live_traces(rendezvous)
        self.assertEqual(self.trace_of_client(traces, during).received(), b"nobody's")
        for path in glob.glob(os.path.join(rendezvous, "**"), recursive=True):
            self.assertEqual(os.lstat(path).st_uid, self.nobody, path)
        status, _, err = attach.end()
        self.assertEqual(status, 0, err)
        self.assertEqual(os.listdir(rendezvous), [])

    def test_a_rendezvous_directory_open_to_others_is_refused(self):
        port = free_port()
        server = self.start_server([port])
        os.mkdir(self.rendezvous, 0o700)
        os.chmod(self.rendezvous, 0o755)
        done = subprocess.run([LAUNCHER, "attach", str(server.pid)], capture_output=True,
                              text=True, timeout=30)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("is not private to uid 0", done.stderr)
        self.assertEqual(os.listdir(self.rendezvous), [])


if __name__ == "__main__":
    unittest.main()
