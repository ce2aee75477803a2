"""The environment contract (design.md §1): inert without a prefix, bad
configuration refused with one line, unwritable directories, many
processes sharing a prefix, file modes, LD_BIND_NOW."""
import os
import stat
import subprocess
import textwrap
import unittest

from servers import PYTHON, RecordingHTTPServer
from tapshim_testlib import TapTestCase, shim_env

BODY = b"environment test body\n" * 3
CURL = ["curl", "-s", "--noproxy", "*"]


def untapped_env():
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("TAP_") or key == "LD_PRELOAD":
            del env[key]
    return env


class EnvironmentTest(TapTestCase):

    def setUp(self):
        super().setUp()
        self.server = RecordingHTTPServer({"/body": BODY})
        self.server.__enter__()
        self.addCleanup(self.server.__exit__, None, None, None)

    def run_program(self, command, env, cwd=None):
        return subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=120)

    def assert_same_as_untapped(self, command, env, cwd=None):
        """Runs `command` untapped and with `env`; asserts equal stdout and
        exit code; returns the tapped run."""
        plain = self.run_program(command, untapped_env(), cwd)
        tapped = self.run_program(command, env, cwd)
        self.assertEqual(tapped.stdout, plain.stdout)
        self.assertEqual(tapped.returncode, plain.returncode, tapped.stderr)
        return tapped

    def tapshim_lines(self, stderr):
        return [line for line in stderr.decode(errors="replace").splitlines()
                if line.startswith("tapshim:")]

    def test_inert_without_prefix(self):
        work = os.path.join(self.dir, "cwd")
        os.mkdir(work)
        for extra in ({}, {"TAP_MAX_BUFFERED_RX_BYTES": "5000"}):
            with self.subTest(extra=extra):
                tapped = self.assert_same_as_untapped(CURL + [self.server.url("/body")],
                                                      shim_env(None, **extra), cwd=work)
                self.assertEqual(tapped.stdout, BODY)
                self.assertEqual(tapped.returncode, 0)
                self.assertEqual(tapped.stderr, b"")
        self.assertEqual(os.listdir(self.dir), ["cwd"])
        self.assertEqual(os.listdir(work), [])

    def test_bad_configuration(self):
        cases = [("TAP_MAX_BUFFERED_RX_BYTES", "-1"), ("TAP_MAX_BUFFERED_TX_BYTES", "12k"),
                 ("TAP_MAX_BUFFERED_RX_BYTES", "99999999999"), ("TAP_FORMAT", "bogus"),
                 ("TAP_MATCH", "port"), ("TAP_PATH_PREFIX", "")]
        commands = [CURL + [self.server.url("/body")],
                    CURL + ["--fail", self.server.url("/missing")]]  # exit code 22
        for variable, value in cases:
            for command in commands:
                with self.subTest(variable=variable, value=value, command=command[-1]):
                    env = shim_env(self.prefix, **{variable: value})
                    tapped = self.assert_same_as_untapped(command, env)
                    lines = tapped.stderr.decode(errors="replace").splitlines()
                    self.assertEqual(len(lines), 1, lines)
                    self.assertTrue(lines[0].startswith("tapshim:"), lines)
                    self.assertIn(variable, lines[0])
                    self.assertEqual(self.trace_files(), [])
        self.assertEqual(sorted(os.listdir(self.dir)), [])

    def test_upper_case_format_accepted(self):
        env = shim_env(self.prefix, TAP_FORMAT="PROTO_BINARY")
        tapped = self.assert_same_as_untapped(CURL + [self.server.url("/body")], env)
        self.assertEqual(tapped.stderr, b"")
        self.assertEqual(len(self.traces()), 1)

    def test_prefix_in_missing_directory(self):
        prefix = os.path.join(self.dir, "does-not-exist", "trace")
        # Two connections (the server closes after each): still one line.
        command = CURL + ["-H", "Connection: close", self.server.url("/body"), self.server.url("/body")]
        tapped = self.assert_same_as_untapped(command, shim_env(prefix))
        self.assertEqual(tapped.stdout, BODY * 2)
        self.assertEqual(len(self.server.wait_closed(4)), 4)  # untapped and tapped runs
        lines = tapped.stderr.decode(errors="replace").splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("tapshim: cannot create trace file "), lines)
        self.assertEqual(os.listdir(self.dir), [])

    def check_distinct(self, traces):
        ids = [t.trace_id for t in traces]
        self.assertEqual(len(set(ids)), len(ids), ids)
        for trace in traces:
            self.assertEqual(os.path.basename(trace.path), f"trace_{trace.trace_id}.pb")
        self.assertEqual(len(set(self.trace_files())), len(traces))

    def test_many_curl_processes_share_a_prefix(self):
        count = 20
        processes = [subprocess.Popen(CURL + ["-o", os.devnull, self.server.url("/body")],
                                      env=shim_env(self.prefix), stderr=subprocess.PIPE)
                     for _ in range(count)]
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            self.assertEqual(process.returncode, 0, stderr)
            self.assertEqual(stderr, b"")
        connections = self.server.wait_closed(count)
        traces = self.traces()
        self.assertEqual(len(traces), count)
        self.check_distinct(traces)
        self.assertEqual(sorted(t.local[1] for t in traces), sorted(c.peer[1] for c in connections))
        self.assertEqual(len({t.pid for t in traces}), count)
        for trace in traces:
            connection = self.server.connection_from(trace.local[1])
            self.assertEqual(trace.sent(), bytes(connection.received))
            self.assertEqual(trace.received(), bytes(connection.sent))

    def test_forked_children_share_a_prefix(self):
        script = textwrap.dedent("""
            import os, socket, sys
            port = int(sys.argv[1])
            def fetch(tag):
                with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                    sock.sendall(b"GET /body HTTP/1.1\\r\\nHost: x\\r\\nX-Tag: " + tag.encode()
                                 + b"\\r\\nConnection: close\\r\\n\\r\\n")
                    while sock.recv(65536):
                        pass
            fetch("parent-before")
            children = []
            for child in range(4):
                pid = os.fork()
                if pid == 0:
                    for n in range(3):
                        fetch(f"child{child}-{n}")
                    if child % 2:
                        os._exit(0)
                    sys.exit(0)
                children.append(pid)
            for pid in children:
                _, status = os.waitpid(pid, 0)
                assert status == 0, status
            fetch("parent-after")
        """)
        done = subprocess.run([PYTHON, "-c", script, str(self.server.port)],
                              env=shim_env(self.prefix), capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, b"")
        connections = self.server.wait_closed(14)
        self.assertEqual(len(connections), 14)
        traces = self.traces()
        self.assertEqual(len(traces), 14, traces)
        self.check_distinct(traces)
        self.assertEqual(sorted(t.local[1] for t in traces), sorted(c.peer[1] for c in connections))
        self.assertEqual(len({t.pid for t in traces}), 5)
        for trace in traces:
            connection = self.server.connection_from(trace.local[1])
            self.assertEqual(trace.sent(), bytes(connection.received))
            self.assertEqual(trace.received(), bytes(connection.sent))
            tag = [line for line in trace.sent().split(b"\r\n") if line.startswith(b"X-Tag")][0]
            self.assertEqual(tag.startswith(b"X-Tag: parent"), trace.pid == done_pid(traces))

    def test_trace_files_are_0600_whatever_the_umask(self):
        for mask in (0o000, 0o022, 0o077):
            with self.subTest(umask=oct(mask)):
                prefix = os.path.join(self.dir, f"umask{mask:o}")
                old = os.umask(mask)
                try:
                    done = self.run_program(CURL + [self.server.url("/body")], shim_env(prefix))
                finally:
                    os.umask(old)
                self.assertEqual(done.returncode, 0, done.stderr)
                [path] = [os.path.join(self.dir, n) for n in os.listdir(self.dir)
                          if n.startswith(f"umask{mask:o}_")]
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_ld_bind_now(self):
        env = shim_env(self.prefix, LD_BIND_NOW="1")
        tapped = self.assert_same_as_untapped(CURL + [self.server.url("/body")], env)
        self.assertEqual(tapped.stdout, BODY)
        self.assertEqual(tapped.stderr, b"")
        connections = self.server.wait_closed(2)
        [trace] = self.traces()
        connection = self.server.connection_from(trace.local[1])
        self.assertIn(connection, connections)
        self.assertEqual(trace.sent(), bytes(connection.received))
        self.assertEqual(trace.received(), bytes(connection.sent))


def done_pid(traces):
    """The pid of the parent: the one with two traces (before and after the forks)."""
    pids = [t.pid for t in traces]
    [parent] = [p for p in set(pids) if pids.count(p) == 2]
    return parent


if __name__ == "__main__":
    unittest.main()
