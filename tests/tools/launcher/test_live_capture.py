"""tapshim -w FILE: a live pcapng of a program's connections, judged by
tshark. A python3 client under the launcher talks to an echo server on a
loopback port chosen at run time; tshark reads the capture from a FIFO
while the program runs, and the streams it reassembles must hold exactly
the bytes sent and received. The program's stdio, exit status and signals
must be its own, and the launcher's private directory must be gone at the
end."""
import json
import os
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from cli_testlib import LAUNCHER, PLAN_CLIENT, clean_env, launch, require_tools, wait_for
from servers import PYTHON, EchoServer
from tap2pcap.tshark_judge import analysis_flags, follow_streams

MESSAGE = bytes(range(256)) * 40 + b"live capture\n"  # 10253 bytes, every byte value


def echo_plan(data):
    return json.dumps([["send", data.hex()], ["shut"], ["drain"]])


class LiveCaptureTest(unittest.TestCase):

    def setUp(self):
        require_tools()
        self.tmp = tempfile.mkdtemp(prefix="tapshim-live-test-")
        self.addCleanup(subprocess.run, ["rm", "-rf", self.tmp])
        # The launcher's private directory goes under TMPDIR: here, to be
        # seen to go away.
        self.tmpdir = os.path.join(self.tmp, "tmpdir")
        os.mkdir(self.tmpdir)
        self.env = clean_env(TMPDIR=self.tmpdir)

    def assert_private_directory_gone(self):
        self.assertEqual(os.listdir(self.tmpdir), [])

    def assert_echoed(self, capture, port, data):
        streams = [s for s in follow_streams(capture) if s.node1.endswith(f":{port}")
                   or s.node0.endswith(f":{port}")]
        self.assertEqual(len(streams), 1, streams)
        [stream] = streams
        server = f"127.0.0.1:{port}"
        self.assertEqual(stream.sent_by(stream.peer_of(server)), data)
        self.assertEqual(stream.sent_by(server), data)
        self.assertEqual(analysis_flags(capture), "")

    def test_fifo_read_by_tshark_while_the_program_runs(self):
        fifo = os.path.join(self.tmp, "live.fifo")
        os.mkfifo(fifo, 0o600)
        capture = os.path.join(self.tmp, "from-fifo.pcapng")
        tshark = subprocess.Popen(["tshark", "-q", "-i", fifo, "-w", capture],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self.addCleanup(lambda: tshark.poll() is None and tshark.kill())
        with EchoServer() as server:
            done = launch("-w", fifo, "--", PYTHON, "-c", PLAN_CLIENT, "127.0.0.1",
                          str(server.port), echo_plan(MESSAGE), env=self.env)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stderr, b"")
            server.wait_closed(1)
        # The follower closed the FIFO at the end: tshark sees its end.
        _, err = tshark.communicate(timeout=60)
        self.assertEqual(tshark.returncode, 0, err)
        self.assert_echoed(capture, server.port, MESSAGE)
        self.assert_private_directory_gone()

    def test_regular_file_and_every_event_whole(self):
        # 10 KiB reads and writes: with -w each event is kept whole, not
        # cut at the shim's 1024-byte default.
        capture = os.path.join(self.tmp, "out.pcapng")
        with EchoServer() as server:
            done = launch("-w", capture, "--", PYTHON, "-c", PLAN_CLIENT, "127.0.0.1",
                          str(server.port), echo_plan(MESSAGE), env=self.env)
            self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(capture).st_mode), 0o600)
        self.assert_echoed(capture, server.port, MESSAGE)

    def test_match_and_limits_combine_with_w(self):
        capture = os.path.join(self.tmp, "out.pcapng")
        with EchoServer() as kept, EchoServer() as other:
            script = (f"import subprocess, sys\n"
                      f"for port in ({kept.port}, {other.port}):\n"
                      f"    subprocess.run([sys.executable, '-c', {PLAN_CLIENT!r}, '127.0.0.1',"
                      f" str(port), {echo_plan(MESSAGE)!r}], check=True)\n")
            done = launch("-w", capture, "--match", f"port {kept.port}", "--max-tx-bytes", "100",
                          "--", PYTHON, "-c", script, env=self.env)
            self.assertEqual(done.returncode, 0, done.stderr)
        streams = follow_streams(capture)
        self.assertEqual(len(streams), 1, streams)
        server = f"127.0.0.1:{kept.port}"
        self.assertEqual(streams[0].sent_by(streams[0].peer_of(server)), MESSAGE[:100])

    def test_stdio_and_exit_status_are_the_programs(self):
        capture = os.path.join(self.tmp, "out.pcapng")
        script = ("import os, sys\n"
                  "data = sys.stdin.buffer.read()\n"
                  "sys.stdout.buffer.write(b'out:' + data)\n"
                  "sys.stderr.buffer.write(b'err:' + data)\n"
                  "mode = os.stat(os.path.dirname(os.environ['TAP_PATH_PREFIX'])).st_mode\n"
                  "sys.stdout.buffer.write(b' %o' % (mode & 0o777))\n"
                  "sys.exit(3)\n")
        done = launch("-w", capture, "--", PYTHON, "-c", script, env=self.env, input=b"\x00in\xff")
        self.assertEqual(done.returncode, 3)
        self.assertEqual(done.stdout, b"out:\x00in\xff 700")
        self.assertEqual(done.stderr, b"err:\x00in\xff")
        self.assert_private_directory_gone()

    def test_program_killed_by_a_signal_is_reported_the_same(self):
        capture = os.path.join(self.tmp, "out.pcapng")
        done = launch("-w", capture, "--", PYTHON, "-c",
                      "import os, signal; os.kill(os.getpid(), signal.SIGTERM)", env=self.env)
        self.assertEqual(done.returncode, -signal.SIGTERM, done.stderr)
        self.assertEqual(done.stderr, b"")
        self.assert_private_directory_gone()

    def test_sigterm_to_the_launcher_goes_to_the_program(self):
        capture = os.path.join(self.tmp, "out.pcapng")
        ready = os.path.join(self.tmp, "ready")
        script = (f"import time\nopen({ready!r}, 'w').close()\ntime.sleep(120)\n")
        launcher = subprocess.Popen([LAUNCHER, "-w", capture, "--", PYTHON, "-c", script],
                                    env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: launcher.poll() is None and launcher.kill())
        wait_for(lambda: os.path.exists(ready))
        launcher.send_signal(signal.SIGTERM)
        out, err = launcher.communicate(timeout=60)
        self.assertEqual(launcher.returncode, -signal.SIGTERM, err)
        self.assertEqual((out, err), (b"", b""))
        self.assert_private_directory_gone()

    def test_ctrl_c_to_the_group_does_not_cut_the_capture(self):
        # What a terminal's Ctrl-C does: SIGINT to the foreground process
        # group, the launcher and the program. The follower has a group of
        # its own: the connection made before is still in the capture.
        capture = os.path.join(self.tmp, "out.pcapng")
        ready = os.path.join(self.tmp, "ready")
        with EchoServer() as server:
            script = (f"import subprocess, sys, time\n"
                      f"subprocess.run([sys.executable, '-c', {PLAN_CLIENT!r}, '127.0.0.1',"
                      f" '{server.port}', {echo_plan(MESSAGE)!r}], check=True)\n"
                      f"open({ready!r}, 'w').close()\n"
                      f"time.sleep(120)\n")
            launcher = subprocess.Popen([LAUNCHER, "-w", capture, "--", PYTHON, "-c", script],
                                        env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
            self.addCleanup(lambda: launcher.poll() is None and launcher.kill())
            wait_for(lambda: os.path.exists(ready))
            os.killpg(launcher.pid, signal.SIGINT)
            _, err = launcher.communicate(timeout=60)
        # Python ends by KeyboardInterrupt with SIGINT re-raised.
        self.assertEqual(launcher.returncode, -signal.SIGINT, err)
        self.assert_echoed(capture, server.port, MESSAGE)
        self.assert_private_directory_gone()

    def test_command_not_found(self):
        capture = os.path.join(self.tmp, "out.pcapng")
        done = launch("-w", capture, "--", "/nonexistent/program", env=self.env)
        self.assertEqual(done.returncode, 127)
        self.assertEqual(done.stderr.decode().splitlines(),
                         ["tapshim: /nonexistent/program: No such file or directory"])
        self.assert_private_directory_gone()

    def test_usage_errors(self):
        capture = os.path.join(self.tmp, "out.pcapng")
        for args, text in (
                (["-w", capture, "-o", os.path.join(self.tmp, "t")], "-o cannot be given with -w"),
                (["-w", "-"], "-w -: the program's stdout is its own"),
                (["-w", os.path.join(self.tmp, "missing", "x.pcapng")], "missing: No such file"),
                (["-w", self.tmp], "is a directory")):
            done = launch(*args, "--", "true", env=self.env)
            self.assertEqual(done.returncode, 2, done)
            lines = done.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertTrue(lines[0].startswith("tapshim: ") and text in lines[0], lines)
        self.assert_private_directory_gone()


if __name__ == "__main__":
    unittest.main()
