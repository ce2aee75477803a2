"""tapshim-extcap: each step of Wireshark's extcap protocol, and tshark
itself using the interfaces: `tshark -D` lists them, `tshark -i tapshim-run
-o extcap.tapshim_run.command:...` captures a real client's plaintext that
reassembles byte for byte, and so does tapshim-follow on a directory the
launcher streams into.

Wireshark 4.0 (Debian 12) looks for extcaps in its system directory only,
or in $WIRESHARK_EXTCAP_DIR instead, which it ignores when run as root: as
root, tshark runs here as nobody."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from cli_testlib import LAUNCHER, clean_env, require_tools, wait_for
from servers import PYTHON, EchoServer
from tap2pcap.tshark_judge import analysis_flags, follow_streams

EXTCAP = os.environ.get("TAPSHIM_EXTCAP", "")
INTERFACES = ["tapshim-run", "tapshim-follow", "tapshim-attach"]
MESSAGE = bytes(range(256)) * 24 + b"extcap\n"


def extcap(*args, env=None, timeout=60):
    return subprocess.run([EXTCAP, *args], capture_output=True, timeout=timeout,
                          env=env if env is not None else clean_env())


def write_client(path, exchanges, ready=None, pidfile=None, then_sleep=0):
    """A python3 script at `path`: for each (port, data), a connection to
    the echo server on 127.0.0.1:port that sends data, shuts down its side
    and reads the echo back, checked."""
    lines = ["import os, socket, time",
             f"open({pidfile!r}, 'w').write(str(os.getpid()))" if pidfile else ""]
    for port, data in exchanges:
        lines += [f"sock = socket.create_connection(('127.0.0.1', {port}), timeout=60)",
                  f"data = bytes.fromhex({data.hex()!r})",
                  "sock.sendall(data)",
                  "sock.shutdown(socket.SHUT_WR)",
                  "got = b''",
                  "while chunk := sock.recv(65536): got += chunk",
                  "assert got == data, len(got)",
                  "sock.close()"]
    if ready:
        lines.append(f"open({ready!r}, 'w').close()")
    lines.append(f"time.sleep({then_sleep})")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o644)
    return path


def sentences(text):
    """Each line's kind and its {key=value} fields."""
    parsed = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        fields = {}
        for part in rest.strip("{}").split("}{"):
            key, _, value = part.partition("=")
            fields[key] = value
        parsed.append((kind, fields))
    return parsed


class ProtocolTest(unittest.TestCase):
    """The extcap's answers, as Wireshark asks for them."""

    @classmethod
    def setUpClass(cls):
        require_tools()
        if not os.path.exists(EXTCAP):
            raise RuntimeError(f"TAPSHIM_EXTCAP is not a built file: {EXTCAP!r}")

    def answer(self, *args):
        done = extcap(*args)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, b"")
        return sentences(done.stdout.decode())

    def test_interfaces(self):
        lines = self.answer("--extcap-interfaces", "--extcap-version=4.0")
        self.assertEqual(lines[0][0], "extcap")
        self.assertRegex(lines[0][1]["version"], r"^\d+\.\d+\.\d+$")
        self.assertEqual([f["value"] for kind, f in lines[1:] if kind == "interface"], INTERFACES)
        self.assertEqual(len(lines), 4)

    def test_dlts(self):
        for interface in INTERFACES:
            self.assertEqual(self.answer("--extcap-interface", interface, "--extcap-dlts"),
                             [("dlt", {"number": "1", "name": "EN10MB", "display": "Ethernet"})])

    def test_config(self):
        expected = {
            "tapshim-run": ["--command", "--program-output", "--match", "--max-rx-bytes",
                            "--max-tx-bytes"],
            "tapshim-follow": ["--directory"],
            "tapshim-attach": ["--pid", "--match", "--max-rx-bytes", "--max-tx-bytes"],
        }
        for interface, calls in expected.items():
            lines = self.answer("--extcap-interface", interface, "--extcap-config")
            self.assertEqual([f["call"] for _, f in lines], calls)
            self.assertEqual([int(f["number"]) for _, f in lines], list(range(len(calls))))
            self.assertEqual(lines[0][1].get("required"), "true")

    def test_capture_filter_validation(self):
        # Wireshark's protocol: nothing printed for a valid filter, the
        # problem on the first line for an invalid one.
        for interface in ("tapshim-run", "tapshim-attach"):
            valid = extcap("--extcap-interface", interface, "--extcap-capture-filter",
                           "port 443 and not net 10.0.0.0/8")
            self.assertEqual((valid.returncode, valid.stdout, valid.stderr), (0, b"", b""))
            invalid = extcap("--extcap-interface", interface, "--extcap-capture-filter",
                             "port 443 and nt net 10.0.0.0/8")
            self.assertEqual(invalid.returncode, 0)
            self.assertEqual(invalid.stdout.decode(),
                             "tapshim match expression: unknown keyword `nt` at offset 13\n")
        follow = extcap("--extcap-interface", "tapshim-follow", "--extcap-capture-filter", "port 1")
        self.assertIn("takes no capture filter", follow.stdout.decode())
        empty = extcap("--extcap-interface", "tapshim-follow", "--extcap-capture-filter", "")
        self.assertEqual(empty.stdout, b"")

    def test_bad_requests(self):
        for args, text in ((["--extcap-interface", "eth0", "--extcap-dlts"], "not one of"),
                           (["--extcap-dlts"], "--extcap-interface IF is required"),
                           (["--capture", "--extcap-interface", "tapshim-run"], "--fifo"),
                           (["--frobnicate"], "unknown argument --frobnicate"),
                           ([], "nothing to do")):
            done = extcap(*args)
            self.assertEqual(done.returncode, 2, done)
            lines = done.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertTrue(lines[0].startswith("tapshim-extcap: ") and text in lines[0], lines)

    def test_capture_argument_problems(self):
        tmp = tempfile.mkdtemp(prefix="tapshim-extcap-args-")
        self.addCleanup(shutil.rmtree, tmp)
        fifo = os.path.join(tmp, "fifo")
        for args, text in (
                (["tapshim-run", "--command", "curl 'x"], "unterminated ' at offset 5"),
                (["tapshim-run", "--command", "ls | head"], "'|' at offset 3"),
                (["tapshim-run", "--command", "curl $HOME"], "no expansion"),
                (["tapshim-run", "--command", "true", "--match", "port"], "tapshim match"),
                (["tapshim-run", "--command", "true", "--max-rx-bytes", "1k"], "not a number"),
                (["tapshim-follow", "--directory", os.path.join(tmp, "none")], "No such file"),
                (["tapshim-follow", "--directory", tmp, "--extcap-capture-filter", "port 1"],
                 "capture filter"),
                (["tapshim-attach", "--pid", "12x"], "not a process ID"),
                (["tapshim-attach"], "needs --pid")):
            done = extcap("--capture", "--fifo", fifo, "--extcap-interface", *args)
            self.assertEqual(done.returncode, 1, done)
            self.assertIn(text, done.stderr.decode())
            self.assertEqual(len(done.stderr.decode().splitlines()), 1, done.stderr)
        self.assertFalse(os.path.exists(fifo))

    def test_install_user(self):
        home = tempfile.mkdtemp(prefix="tapshim-extcap-home-")
        self.addCleanup(shutil.rmtree, home)
        env = clean_env(HOME=home)
        link = os.path.join(home, ".local/lib/wireshark/extcap/tapshim-extcap")
        for _ in range(2):  # again: its own link is replaced
            done = extcap("--install-user", env=env)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(os.readlink(link), os.path.realpath(EXTCAP))
            self.assertIn(link, done.stdout.decode())
        os.unlink(link)
        with open(link, "w") as other:
            other.write("someone else's\n")
        done = extcap("--install-user", env=env)
        self.assertEqual(done.returncode, 1)
        self.assertIn("not a link to tapshim-extcap; left alone", done.stderr.decode())
        with open(link) as kept:
            self.assertEqual(kept.read(), "someone else's\n")


class TsharkTest(unittest.TestCase):
    """tshark finds the interfaces and captures from them."""

    def setUp(self):
        require_tools()
        self.tmp = tempfile.mkdtemp(prefix="tapshim-extcap-tshark-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        os.chmod(self.tmp, 0o755)
        extcap_dir = os.path.join(self.tmp, "extcap")
        os.mkdir(extcap_dir)
        os.symlink(os.path.realpath(EXTCAP), os.path.join(extcap_dir, "tapshim-extcap"))
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.env = clean_env(HOME=self.home, WIRESHARK_EXTCAP_DIR=extcap_dir)
        self.prefix = []
        self.python = PYTHON
        if os.geteuid() == 0:
            # The test's own python3 may live under root's home.
            self.python = "/usr/bin/python3"
            nobody = pwd.getpwnam("nobody")
            for path in (self.tmp, extcap_dir, self.home):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            self.prefix = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                           "--clear-groups"]
            probe = subprocess.run(self.prefix + ["test", "-x", os.path.realpath(EXTCAP)])
            if probe.returncode != 0:
                self.skipTest(f"nobody cannot run {EXTCAP} (a directory on the way is closed)")

    def tshark(self, *args, timeout=120):
        return subprocess.run(self.prefix + ["tshark", *args], capture_output=True,
                              env=self.env, cwd=self.tmp, timeout=timeout)

    def test_tshark_lists_the_interfaces(self):
        done = self.tshark("-D")
        self.assertEqual(done.returncode, 0, done.stderr)
        names = [line.split(" ")[1] for line in done.stdout.decode().splitlines()
                 if "tapshim" in line]
        self.assertEqual(sorted(names), sorted(INTERFACES))

    def test_tshark_captures_a_program_run_by_tapshim_run(self):
        capture = os.path.join(self.tmp, "run.pcapng")
        with EchoServer() as kept, EchoServer() as filtered_out:
            # Two connections; the capture filter (a tapshim match
            # expression) keeps one.
            client = write_client(os.path.join(self.tmp, "client.py"),
                                  [(kept.port, MESSAGE), (filtered_out.port, b"other")])
            command = f"{self.python} {client}"
            done = self.tshark("-i", "tapshim-run", "-o", f"extcap.tapshim_run.command:{command}",
                               "-f", f"port {kept.port}", "-a", "duration:60", "-w", capture)
            self.assertEqual(done.returncode, 0, done.stderr)
            kept.wait_closed(1)
            filtered_out.wait_closed(1)
        self.assertNotIn(b"Error by extcap", done.stderr)
        streams = follow_streams(capture)
        self.assertEqual(len(streams), 1, streams)
        server = f"127.0.0.1:{kept.port}"
        self.assertEqual(streams[0].sent_by(streams[0].peer_of(server)), MESSAGE)
        self.assertEqual(streams[0].sent_by(server), MESSAGE)
        self.assertEqual(analysis_flags(capture), "")

    def test_tshark_follows_a_directory_with_tapshim_follow(self):
        traces = os.path.join(self.tmp, "traces")
        os.mkdir(traces)
        capture = os.path.join(self.tmp, "follow.pcapng")
        ready = os.path.join(self.tmp, "go")
        if self.prefix:
            os.chown(traces, pwd.getpwnam("nobody").pw_uid, -1)
            os.chmod(traces, 0o755)
        with EchoServer() as server:
            # The client waits until tshark runs, then streams into the
            # directory as tshark follows it for a fixed time.
            client = write_client(os.path.join(self.tmp, "client.py"), [(server.port, MESSAGE)])
            waiting = (f"import os, runpy, time\n"
                       f"while not os.path.exists({ready!r}): time.sleep(0.05)\n"
                       f"runpy.run_path({client!r})\n")
            # As the same user as tshark, which reads the traces (0600).
            program = subprocess.Popen(self.prefix + [
                LAUNCHER, "-o", os.path.join(traces, "t"), "--streaming", "--max-rx-bytes",
                "100000", "--max-tx-bytes", "100000", "--", self.python, "-c", waiting],
                env=clean_env())
            self.addCleanup(lambda: program.poll() is None and program.kill())
            timer = threading.Timer(3.0, lambda: open(ready, "w").close())
            timer.start()
            done = self.tshark("-i", "tapshim-follow", "-o",
                               f"extcap.tapshim_follow.directory:{traces}", "-a", "duration:12",
                               "-w", capture)
            timer.join()
            self.assertEqual(program.wait(timeout=60), 0)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn(b"Error by extcap", done.stderr)
        [stream] = follow_streams(capture)
        peer = f"127.0.0.1:{server.port}"
        self.assertEqual(stream.sent_by(stream.peer_of(peer)), MESSAGE)
        self.assertEqual(stream.sent_by(peer), MESSAGE)

    def test_tshark_attaches_to_a_standby_process_with_tapshim_attach(self):
        # A program in standby (the same user as tshark: only it may
        # attach) connects every 200 ms; tshark attaches for 10 s.
        capture = os.path.join(self.tmp, "attach.pcapng")
        with EchoServer() as server:
            once = write_client(os.path.join(self.tmp, "once.py"), [(server.port, MESSAGE)])
            looping = (f"import runpy, time\n"
                       f"for _ in range(600):\n"
                       f"    runpy.run_path({once!r})\n"
                       f"    time.sleep(0.2)\n")
            program = subprocess.Popen(self.prefix + [LAUNCHER, "--standby", "--", self.python,
                                                      "-c", looping], env=clean_env())
            self.addCleanup(lambda: program.poll() is None and program.kill())
            done = self.tshark("-i", "tapshim-attach", "-o",
                               f"extcap.tapshim_attach.pid:{program.pid}", "-a", "duration:10",
                               "-w", capture)
            program.kill()
            program.wait()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn(b"Error by extcap", done.stderr)
        streams = follow_streams(capture)
        peer = f"127.0.0.1:{server.port}"
        # Every connection whole, but one open across the attach or the
        # detach, which holds a part of the exchange.
        whole = [s for s in streams if s.sent_by(peer) == MESSAGE
                 and s.sent_by(s.peer_of(peer)) == MESSAGE]
        self.assertGreaterEqual(len(whole), 3, [(len(s.from0), len(s.from1)) for s in streams])
        self.assertGreaterEqual(len(whole), len(streams) - 2)


class StopTest(unittest.TestCase):
    """Wireshark's ways of ending a capture: SIGTERM, or closing the FIFO."""

    def setUp(self):
        require_tools()
        self.tmp = tempfile.mkdtemp(prefix="tapshim-extcap-stop-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(self.fifo, 0o600)
        self.ready = os.path.join(self.tmp, "ready")
        self.pidfile = os.path.join(self.tmp, "pid")
        # Where the launcher makes its private directory, to see it go.
        self.tmpdir = os.path.join(self.tmp, "tmpdir")
        os.mkdir(self.tmpdir)

    def start(self, server):
        # A program that talks once, then waits to be stopped.
        client = write_client(os.path.join(self.tmp, "client.py"), [(server.port, MESSAGE)],
                              ready=self.ready, pidfile=self.pidfile, then_sleep=300)
        command = f"{PYTHON} {client}"
        process = subprocess.Popen([EXTCAP, "--capture", "--extcap-interface", "tapshim-run",
                                    "--fifo", self.fifo, "--command", command],
                                   env=clean_env(TMPDIR=self.tmpdir), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process

    def read_fifo(self, into):
        with open(self.fifo, "rb") as fifo:
            while chunk := fifo.read(65536):
                into.append(chunk)

    def program_gone(self):
        with open(self.pidfile) as f:
            pid = int(f.read())
        try:
            os.kill(pid, 0)
            return False
        except ProcessLookupError:
            return True

    def test_sigterm_ends_the_capture_with_whole_blocks(self):
        chunks = []
        reader = threading.Thread(target=self.read_fifo, args=(chunks,))
        reader.start()
        with EchoServer() as server:
            process = self.start(server)
            wait_for(lambda: os.path.exists(self.ready))
            time.sleep(0.5)  # the follower's poll picks the last events up
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        reader.join(timeout=60)
        self.assertEqual(process.returncode, 0, err)
        self.assertEqual((out, err), (b"", b""))
        wait_for(self.program_gone)
        self.assertEqual(os.listdir(self.tmpdir), [])
        capture = os.path.join(self.tmp, "got.pcapng")
        with open(capture, "wb") as f:
            f.write(b"".join(chunks))
        [stream] = follow_streams(capture)
        peer = f"127.0.0.1:{server.port}"
        self.assertEqual(stream.sent_by(peer), MESSAGE)

    def test_closing_the_fifo_stops_the_capture(self):
        with EchoServer() as server:
            process = self.start(server)
            with open(self.fifo, "rb") as fifo:
                fifo.read(4)  # the pcapng section header has begun
                wait_for(lambda: os.path.exists(self.ready))
            out, err = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 0, err)
        wait_for(self.program_gone)
        # Ended by the launcher, not killed after the grace period.
        self.assertEqual(os.listdir(self.tmpdir), [])


if __name__ == "__main__":
    unittest.main()
