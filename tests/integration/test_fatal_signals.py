"""Programs that end by a signal keep their buffered traces (issue 11 §1).

A Python client (signal_client.py) talks to a server of the test's own,
then ends by a signal whose default action ends the process: sent with
kill (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1), raised by the kernel for
what it did (SIGSEGV from a real fault, SIGPIPE, SIGALRM from a timer) or by
itself (abort). Tapped, it ends exactly as untapped (same wait status, core
dump flag included), and its trace is on disk with every byte. What the
program sees of its signals does not change: the dispositions it asks for
read back, a handler of its own replaces the shim's, SIG_IGN and blocked
signals behave as before, an exec'd program inherits what it would have,
and the launcher's Ctrl-C leaves the traces and the status.
"""
import os
import resource
import signal
import subprocess
import sys
import time
import unittest

from cli_testlib import LAUNCHER
from servers import PYTHON, _RecordingServer
from tapshim_testlib import TRACE_TO_JSON, TapTestCase, shim_env

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "signal_client.py")
BEFORE_TAPPING = os.path.join(HERE, "signals_before_tapping.py")


class EchoServer(_RecordingServer):
    """Answers the first line with ECHO, then reads until the client goes
    (or, with close_after_reply, closes at once)."""

    def __init__(self, close_after_reply=False):
        super().__init__()
        self.close_after_reply = close_after_reply

    def handle(self, sock, connection):
        line = sock.recv(100)
        connection.received += line
        self._send(sock, connection, b"ECHO " + line)
        if self.close_after_reply:
            return
        while True:
            data = sock.recv(65536)
            if not data:
                return
            connection.received += data


def untapped_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return {k: v for k, v in env.items() if not k.startswith("TAP_")}


class FatalSignalsTest(TapTestCase):

    def start(self, env, port, *options, launcher=False):
        command = [PYTHON, CLIENT, str(port), *options]
        if launcher:
            command = [LAUNCHER, "-o", self.prefix, "--", *command]
        # No core files from the crashing cases (the status is the same).
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True,
                                   preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE,
                                                                         (0, 0)))
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process

    def wait_ready(self, process):
        lines = []
        while True:
            line = process.stdout.readline()
            if not line:
                self.fail(f"the client ended before it was ready: {lines} "
                          f"{process.stderr.read()!r}")
            lines.append(line)
            if line == b"ready\n":
                return b"".join(lines)

    def run_client(self, env, *options, send=None, launcher=False, close_after_reply=False):
        """One run: returns (wait status, the client's stdout, its stderr,
        what the server received)."""
        with EchoServer(close_after_reply=close_after_reply) as server:
            process = self.start(env, server.port, *options, launcher=launcher)
            output = self.wait_ready(process)
            if send is not None:
                os.killpg(process.pid, send)
            rest, errors = process.communicate(timeout=60)
            server.wait_closed(1, timeout=30)
            received = bytes(server.connections[0].received)
        return process.returncode, output + rest, errors, received

    def assert_ends_alike(self, *options, send=None, close_after_reply=False, **variables):
        """Tapped and untapped: the same status and output; the trace holds
        the exchange."""
        untapped = self.run_client(untapped_env(), *options, send=send,
                                   close_after_reply=close_after_reply)
        tapped = self.run_client(shim_env(self.prefix, **variables), *options, send=send,
                                 close_after_reply=close_after_reply)
        self.assertEqual(tapped[0], untapped[0], f"wait status; stderr: {tapped[2]!r}")
        self.assertLess(tapped[0], 0, "the client should have died by a signal")
        self.assertEqual(tapped[1], untapped[1])
        traces = self.traces()
        self.assertEqual(len(traces), 1, traces)
        self.assertEqual(traces[0].received(), b"ECHO hello\n")
        self.assertEqual(traces[0].sent(), tapped[3][:len(traces[0].sent())])
        self.assertTrue(traces[0].sent().startswith(b"hello\n"))
        return tapped

    def test_signals_sent_with_kill(self):
        for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGQUIT"):
            with self.subTest(signal=name):
                self.setUp()
                number = getattr(signal, name)
                status = self.assert_ends_alike("--default", name, send=number)[0]
                self.assertEqual(status, -number)

    def test_python_default_sigint(self):
        # Python's own SIGINT handler raises KeyboardInterrupt, and Python
        # then ends by SIGINT set back to the default: status -2, like Ctrl-C.
        status = self.assert_ends_alike(send=signal.SIGINT)[0]
        self.assertEqual(status, -signal.SIGINT)

    def test_libc_signal_function(self):
        # signal(SIG_IGN) answers the default, signal(SIG_DFL) answers
        # SIG_IGN, and the default set through signal() writes the traces.
        tapped = self.assert_ends_alike("--via-libc-signal", "SIGTERM", send=signal.SIGTERM)
        self.assertIn(b"signal() answered [0, 1, 0]", tapped[1])

    def test_streamed(self):
        self.assert_ends_alike("--default", "SIGTERM", send=signal.SIGTERM, TAP_STREAMING=1)

    def test_signals_the_kernel_raises(self):
        for then, expected, extra in (("segv", signal.SIGSEGV, ()),
                                      ("abort", signal.SIGABRT, ()),
                                      ("alarm", signal.SIGALRM, ()),
                                      ("pipe", signal.SIGPIPE, ("--default", "SIGPIPE"))):
            with self.subTest(then=then):
                self.setUp()
                status = self.assert_ends_alike("--then", then, *extra)[0]
                self.assertEqual(status, -expected)

    def test_the_programs_view(self):
        # getsignal answers as untapped (SIG_DFL where the shim stands in),
        # a handler of the program's own runs (exit 3), SIG_IGN ignores.
        for options, send, expected in ((("--handler", "SIGTERM"), signal.SIGTERM, 3),
                                        (("--ignore", "SIGTERM", "--then", "pending"),
                                         signal.SIGTERM, 0),
                                        (("--block", "SIGUSR1", "--then", "pending"),
                                         signal.SIGUSR1, 0)):
            with self.subTest(options=options):
                self.setUp()
                untapped = self.run_client(untapped_env(), *options, send=send)
                tapped = self.run_client(shim_env(self.prefix), *options, send=send)
                self.assertEqual(tapped[0], expected, tapped[2])
                self.assertEqual(tapped[:2], untapped[:2])
                self.assertEqual(len(self.traces()), 1)

    def test_exec_inherits_what_it_would(self):
        def status_lines(output):
            return [line for line in output.splitlines()
                    if line.startswith((b"SigIgn", b"SigCgt", b"SigBlk"))]
        options = ("--ignore", "SIGHUP", "--then", "exec-status")
        untapped = self.run_client(untapped_env(), *options)
        tapped = self.run_client(shim_env(self.prefix), *options)
        self.assertEqual(status_lines(tapped[1]), status_lines(untapped[1]))
        self.assertEqual(len(status_lines(tapped[1])), 3, tapped[1])

    def test_signal_while_the_shim_works(self):
        # Four threads send without pause: the signal often lands inside the
        # shim (holding a connection's lock). The process must still end by
        # it, promptly, and every trace file must decode whole.
        for attempt in range(4):
            with self.subTest(attempt=attempt):
                self.setUp()
                with EchoServer() as server:
                    process = self.start(shim_env(self.prefix), server.port, "--default",
                                         "SIGTERM", "--then", "stream")
                    self.wait_ready(process)
                    time.sleep(0.3 + 0.1 * attempt)
                    os.killpg(process.pid, signal.SIGTERM)
                    process.communicate(timeout=30)
                self.assertEqual(process.returncode, -signal.SIGTERM)
                decoded = subprocess.run([TRACE_TO_JSON, *self.trace_files()],
                                         capture_output=True, timeout=60)
                self.assertEqual(decoded.returncode, 0, decoded.stderr)
                self.assertEqual(len(self.traces()), 5)

    def test_handlers_wait_for_the_first_connection(self):
        # A tapped process that has tapped nothing yet has the dispositions
        # it would have untapped (start-up costs no system call for them);
        # its first connection puts the shim's handler on SIGTERM, while
        # another thread's signal() calls keep answering what it set.
        def masks(env):
            with EchoServer(close_after_reply=True) as server:
                done = subprocess.run([PYTHON, BEFORE_TAPPING, str(server.port)], env=env,
                                      capture_output=True, text=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            before, after = done.stdout.splitlines()
            return int(before.split()[1], 16), after.split()

        untapped_before, untapped_after = masks(untapped_env())
        tapped_before, tapped_after = masks(shim_env(self.prefix))
        sigterm = 1 << (signal.SIGTERM - 1)
        self.assertEqual(tapped_before, untapped_before)
        self.assertFalse(tapped_before & sigterm)
        self.assertTrue(int(tapped_after[1], 16) & sigterm, tapped_after)
        self.assertFalse(int(untapped_after[1], 16) & sigterm, untapped_after)
        self.assertEqual(tapped_after[-1], "0", "a signal() answer changed under the install")
        self.assertEqual(len(self.traces()), 1)

    def test_launcher_ctrl_c(self):
        with EchoServer() as server:
            env = untapped_env()
            if os.environ.get("TAPSHIM_PRELOAD_FIRST"):  # a sanitizer's runtime stays first
                env["LD_PRELOAD"] = os.environ["TAPSHIM_PRELOAD_FIRST"]
            process = self.start(env, server.port, "--default", "SIGINT", launcher=True)
            self.wait_ready(process)
            os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
            process.communicate(timeout=30)
        self.assertEqual(process.returncode, -signal.SIGINT)
        traces = self.traces()
        self.assertEqual(len(traces), 1)
        self.assertEqual(traces[0].sent(), b"hello\n")


if __name__ == "__main__":
    unittest.main()
