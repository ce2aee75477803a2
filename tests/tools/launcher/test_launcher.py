"""tapshim, the launcher: runs real programs (curl, sh, python) under the
shim with flags instead of TAP_* variables. Traces are decoded with
libprotobuf (trace_to_json, through tapshim_testlib)."""
import contextlib
import glob
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

from cli_testlib import LAUNCHER, clean_env, launch, require_tools
from servers import PYTHON, RecordingHTTPServer, http_server_command, server_process
from tapshim_testlib import TAPSHIM_LIB, TapTestCase, free_port, load_traces, trace_paths

BODY = b"served to curl under the launcher\n" * 3
LARGE = bytes(range(32, 127)) * 600  # 57000 bytes
CURL = ["curl", "-s", "-S", "--fail", "--noproxy", "*"]


class LauncherTest(TapTestCase):

    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.stack = contextlib.ExitStack()
        cls.root = tempfile.mkdtemp(prefix="tapshim-cli-www-")
        cls.stack.callback(shutil.rmtree, cls.root, ignore_errors=True)
        for name, content in (("small.txt", BODY), ("large.txt", LARGE)):
            with open(os.path.join(cls.root, name), "wb") as f:
                f.write(content)
        cls.port = free_port()
        cls.stack.enter_context(server_process(http_server_command(cls.root, cls.port), cls.port))

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def url(self, name, port=None):
        return f"http://127.0.0.1:{port or self.port}/{name}"

    def curl_traces(self, *flags, name="small.txt", expected=BODY):
        done = launch(*flags, "--", *CURL, self.url(name))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, expected)
        self.assertEqual(done.stderr, b"")
        return self.traces_to_port(self.port)

    def assert_usage_error(self, done, text=None):
        """Exit 2, one line on stderr naming tapshim, the command not run."""
        self.assertEqual(done.returncode, 2, done)
        lines = done.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("tapshim: "), lines)
        if text:
            self.assertIn(text, lines[0])
        self.assertEqual(done.stdout, b"")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "ran")))

    # --- traces --------------------------------------------------------

    def test_buffered_trace_of_curl(self):
        [trace] = self.curl_traces("-o", self.prefix)
        self.assertFalse(trace.streamed)
        self.assertTrue(trace.path.endswith(".pb"), trace.path)
        self.assertEqual(trace.remote, ("127.0.0.1", self.port))
        self.assertEqual(trace.process_name, "curl")
        self.assertTrue(trace.sent().startswith(b"GET /small.txt HTTP/1.1\r\n"))
        self.assertTrue(trace.received().endswith(BODY))

    def test_long_flags_with_equals_and_no_double_dash(self):
        done = launch(f"--output={self.prefix}", "--format=proto_text", *CURL, self.url("small.txt"))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, BODY)
        [trace] = self.traces_to_port(self.port)
        self.assertTrue(trace.path.endswith(".pb_text"), trace.path)

    def test_streaming_json_body_as_bytes(self):
        [trace] = self.curl_traces("-o", self.prefix, "--streaming", "--format", "json_body_as_bytes")
        self.assertTrue(trace.streamed)
        self.assertTrue(trace.path.endswith(".json"), trace.path)
        self.assertEqual(trace.remote, ("127.0.0.1", self.port))
        self.assertTrue(trace.received().endswith(BODY))
        self.assertTrue(any(e.seq_num > 0 for e in trace.events))
        self.assertEqual(trace.events[-1].kind, "closed")

    def test_batched_streaming(self):
        [trace] = self.curl_traces("-o", self.prefix, "--streaming", "--min-streamed-sent-bytes",
                                   "100000")
        self.assertTrue(trace.streamed)
        self.assertIn("events", trace.segments)
        self.assertTrue(trace.received().endswith(BODY))

    def test_max_rx_bytes(self):
        [trace] = self.curl_traces("-o", self.prefix, "--max-rx-bytes", "100000",
                                   name="large.txt", expected=LARGE)
        self.assertFalse(trace.read_truncated)
        self.assertTrue(trace.received().endswith(LARGE))
        self.setUp()
        [trace] = self.curl_traces("-o", self.prefix, "--max-rx-bytes", "1000",
                                   "--max-tx-bytes", "10", name="large.txt", expected=LARGE)
        self.assertTrue(trace.read_truncated and trace.write_truncated)
        self.assertEqual(len(trace.received()), 1000)
        self.assertEqual(trace.sent(), b"GET /large")

    def test_match_selects_connections(self):
        with RecordingHTTPServer(routes={"/other": b"other server\n"}) as other:
            done = launch("-o", self.prefix, "--match", f"dst port {self.port}", "--",
                          *CURL, self.url("small.txt"), other.url("/other"))
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stdout, BODY + b"other server\n")
            other.wait_closed(1)
        traces = self.traces()
        self.assertEqual([t.remote for t in traces], [("127.0.0.1", self.port)])
        # Without --match, both are traced: the expression made the difference.
        self.setUp()
        with RecordingHTTPServer(routes={"/other": b"other server\n"}) as other:
            done = launch("-o", self.prefix, "--", *CURL, self.url("small.txt"), other.url("/other"))
            self.assertEqual(done.returncode, 0, done.stderr)
            other.wait_closed(1)
            self.assertEqual(sorted(t.remote[1] for t in self.traces()),
                             sorted([self.port, other.port]))

    def test_inherited_tap_variables_are_replaced_by_the_flags(self):
        env = clean_env(TAP_MATCH="port 1", TAP_FORMAT="proto_text", TAP_PATH_PREFIX="/nonexistent/x")
        done = launch("-o", self.prefix, "--", *CURL, self.url("small.txt"), env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        [trace] = self.traces_to_port(self.port)
        self.assertTrue(trace.path.endswith(".pb"), trace.path)

    def test_deeper_validation_is_the_shims(self):
        done = launch("-o", self.prefix, "--match", "port", "--", *CURL, self.url("small.txt"))
        self.assertEqual(done.returncode, 0)
        self.assertEqual(done.stdout, BODY)
        lines = done.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("TAP_MATCH", lines[0])
        self.assertEqual(trace_paths(self.prefix), [])

    # --- the process is the program's --------------------------------------

    def test_exit_status_propagates(self):
        for status in (0, 1, 7, 255):
            with self.subTest(status=status):
                done = launch("-o", self.prefix, "--", "sh", "-c", f"exit {status}")
                self.assertEqual(done.returncode, status, done.stderr)

    def test_signal_status_propagates(self):
        direct = subprocess.run(["sh", "-c", "kill -TERM $$"], env=clean_env())
        self.assertEqual(direct.returncode, -signal.SIGTERM)
        done = launch("-o", self.prefix, "--", "sh", "-c", "kill -TERM $$")
        self.assertEqual(done.returncode, -signal.SIGTERM, done.stderr)
        # As bash reports it: 128 + the signal, the same with and without the launcher.
        script = f"{LAUNCHER} -o {self.prefix} -- sh -c 'kill -KILL $$'; echo $?; sh -c 'kill -KILL $$'; echo $?"
        shell = subprocess.run(["bash", "-c", script], env=clean_env(), capture_output=True)
        self.assertEqual(shell.stdout.split(), [b"137", b"137"], shell.stderr)

    def test_stdio_is_the_programs(self):
        done = launch("-o", self.prefix, "--", "sh", "-c", "cat; echo err >&2", input=b"from stdin\n")
        self.assertEqual(done.returncode, 0)
        self.assertEqual(done.stdout, b"from stdin\n")
        self.assertEqual(done.stderr, b"err\n")

    def test_environment_of_the_program(self):
        done = launch("-o", self.prefix, "--max-rx-bytes", "5", "--streaming", "--", "sh", "-c",
                      "echo $LD_PRELOAD; echo $TAP_PATH_PREFIX; echo $TAP_MAX_BUFFERED_RX_BYTES; "
                      "echo $TAP_STREAMING; echo ${TAP_MATCH-unset}")
        self.assertEqual(done.returncode, 0, done.stderr)
        preload, prefix, rx, streaming, match = done.stdout.decode().splitlines()
        self.assertTrue(os.path.isabs(preload), preload)
        self.assertEqual(os.path.realpath(preload), os.path.realpath(TAPSHIM_LIB))
        self.assertEqual((prefix, rx, streaming, match), (self.prefix, "5", "1", "unset"))

    def test_max_total_bytes_sets_the_process_budget(self):
        done = launch("-o", self.prefix, "--max-total-bytes", "18446744073709551615", "--", "sh",
                      "-c", "echo $TAP_MAX_BUFFERED_TOTAL_BYTES")
        self.assertEqual((done.returncode, done.stderr), (0, b""))
        self.assertEqual(done.stdout, b"18446744073709551615\n")

    def test_existing_ld_preload_is_kept(self):
        [other] = [p for p in glob.glob("/usr/lib/*/libm.so.6") + glob.glob("/lib64/libm.so.6")][:1]
        env = clean_env(LD_PRELOAD=other)
        done = launch("-o", self.prefix, "--", "sh", "-c", "echo $LD_PRELOAD", env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.decode().strip(), os.path.realpath(TAPSHIM_LIB) + ":" + other)
        # ... and the program is still tapped.
        done = launch("-o", self.prefix, "--", *CURL, self.url("small.txt"), env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(len(self.traces_to_port(self.port)), 1)

    def test_sanitizer_runtime_stays_first(self):
        # A sanitizer's runtime refuses to start unless it is first: the shim
        # goes right behind it, the rest after.
        runtime = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                                 text=True).stdout.strip()
        [other] = [p for p in glob.glob("/usr/lib/*/libm.so.6") + glob.glob("/lib64/libm.so.6")][:1]
        env = clean_env(LD_PRELOAD=f"{runtime} {other}", ASAN_OPTIONS="detect_leaks=0")
        done = launch("-o", self.prefix, "--", "sh", "-c", "echo $LD_PRELOAD", env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.decode().strip(),
                         f"{runtime}:{os.path.realpath(TAPSHIM_LIB)}:{other}")

    def test_explicit_library_relative_path_becomes_absolute(self):
        copy = os.path.join(self.dir, "copy.so")
        shutil.copy(TAPSHIM_LIB, copy)
        done = launch("-o", self.prefix, "--library", "copy.so", "--", "sh", "-c", "echo $LD_PRELOAD",
                      cwd=self.dir)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.decode().strip(), os.path.realpath(copy))

    # --- mistakes ------------------------------------------------------

    def test_bad_command_lines(self):
        ran = ["touch", os.path.join(self.dir, "ran")]
        p = self.prefix
        cases = [
            ([], "-o PREFIX"),
            (["--", *ran], "-o PREFIX"),
            (["-o", p], "no command"),
            (["-o"], "needs a value"),
            (["-o", p, "--bogus", *ran], "unknown flag --bogus"),
            (["-o", p, "--max-rx-bytes", "abc", *ran], "--max-rx-bytes"),
            (["-o", p, "--max-tx-bytes", "-1", *ran], "--max-tx-bytes"),
            (["-o", p, "--max-rx-bytes", "4294967296", *ran], "--max-rx-bytes"),
            (["-o", p, "--min-streamed-sent-bytes", "1k", *ran], "--min-streamed-sent-bytes"),
            (["-o", p, "--max-total-bytes", "64M", *ran], "--max-total-bytes: '64M'"),
            (["-o", p, "--max-total-bytes", "18446744073709551616", *ran], "--max-total-bytes"),
            (["-o", p, "--runs-as", "", *ran], "--runs-as: empty"),
            (["-o", p, "--runs-as", "no-such-user-xyz", *ran], "--runs-as: no user 'no-such-user-xyz'"),
            (["-o", p, "--format", "bogus", *ran], "--format: 'bogus'"),
            (["-o", p, "--sink", "admin", *ran], "--sink"),
            (["-o", p, "-o", p, *ran], "given twice"),
            (["-o", "", *ran], "empty"),
            (["-o", "/nonexistent-dir/trace", *ran], "/nonexistent-dir"),
        ]
        for args, text in cases:
            with self.subTest(args=args):
                self.assert_usage_error(launch(*args), text)

    def test_missing_library(self):
        done = launch("-o", self.prefix, "--library", os.path.join(self.dir, "missing.so"), "--",
                      "touch", os.path.join(self.dir, "ran"))
        self.assert_usage_error(done, "missing.so")
        done = launch("-o", self.prefix, "--library", self.dir, "--", "touch",
                      os.path.join(self.dir, "ran"))
        self.assert_usage_error(done, "not a regular file")

    def test_launcher_without_its_library(self):
        # A launcher copied where no libtapshim.so is near it (and none is
        # installed under its prefix) says so before running anything.
        alone = os.path.join(self.dir, "bin", "tapshim")
        os.mkdir(os.path.dirname(alone))
        shutil.copy(LAUNCHER, alone)
        done = subprocess.run([alone, "-o", self.prefix, "--", "touch", os.path.join(self.dir, "ran")],
                              env=clean_env(), capture_output=True)
        if done.returncode == 0:
            self.skipTest("a libtapshim.so is installed where the copy looks")
        self.assert_usage_error(done, "cannot find libtapshim.so")

    def test_command_not_found_or_not_executable(self):
        done = launch("-o", self.prefix, "--", "no-such-command-xyz")
        self.assertEqual(done.returncode, 127)
        self.assertEqual(done.stderr.decode().splitlines(),
                         ["tapshim: no-such-command-xyz: No such file or directory"])
        plain = os.path.join(self.dir, "plain")
        open(plain, "w").close()
        done = launch("-o", self.prefix, "--", plain)
        self.assertEqual(done.returncode, 126)
        self.assertEqual(len(done.stderr.decode().splitlines()), 1)

    def test_help_and_version(self):
        done = launch("--help")
        self.assertEqual(done.returncode, 0)
        self.assertTrue(done.stdout.startswith(b"usage: tapshim -o PREFIX"))
        for flag in (b"--format", b"--streaming", b"--min-streamed-sent-bytes", b"--connection-per-event",
                     b"--max-rx-bytes", b"--max-tx-bytes", b"--max-total-bytes", b"--match",
                     b"--config", b"--sink", b"--library", b"--runs-as"):
            self.assertIn(flag, done.stdout)
        done = launch("--version")
        self.assertEqual(done.returncode, 0)
        self.assertRegex(done.stdout.decode(), r"^tapshim \d+\.\d+")

    # --- the user the program will run as --------------------------------

    @unittest.skipUnless(os.geteuid() == 0, "needs root to ask as another user")
    def test_warns_when_the_user_it_runs_as_cannot_create_the_traces(self):
        # A server started as root that becomes nobody (apache's User,
        # nginx's user) creates its traces as nobody.
        os.chmod(self.dir, 0o755)  # root's: closed to nobody
        done = launch("-o", self.prefix, "--runs-as", "nobody", "--", "true")
        self.assertEqual(done.returncode, 0, done.stderr)  # a warning: the program runs
        self.assertEqual(done.stderr.decode().splitlines(), [
            f"tapshim: warning: -o {self.prefix}: nobody (uid 65534, gid 65534) cannot create "
            f"files in {self.dir}: the program's traces will be lost once it runs as that user"])
        # By number too; and nothing once the directory lets that user in.
        done = launch("-o", self.prefix, "--runs-as", "65534", "--", "true")
        self.assertIn(b"nobody (uid 65534", done.stderr)
        os.chmod(self.dir, 0o777)
        done = launch("-o", self.prefix, "--runs-as", "nobody", "--", "true")
        self.assertEqual((done.returncode, done.stderr), (0, b""))

    def test_runs_as_the_launchers_own_user_adds_no_check(self):
        me = pwd.getpwuid(os.geteuid()).pw_name
        done = launch("-o", self.prefix, "--runs-as", me, "--", "true")
        self.assertEqual((done.returncode, done.stderr), (0, b""))

    # --- programs the shim cannot reach ---------------------------------

    def test_warns_about_a_static_program(self):
        ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
        with open(ldconfig, "rb") as f:
            if b"/ld-linux" in f.read(4096):
                self.skipTest(f"{ldconfig} is dynamically linked here")
        done = launch("-o", self.prefix, "--", ldconfig, "--version")
        self.assertEqual(done.returncode, 0)
        lines = done.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("statically linked", lines[0])
        self.assertTrue(lines[0].startswith("tapshim: warning: "))
        # A dynamic program gets no warning.
        done = launch("-o", self.prefix, "--", "true")
        self.assertEqual((done.returncode, done.stderr), (0, b""))

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a file to another owner")
    def test_warns_about_a_setuid_program(self):
        program = os.path.join(self.dir, "true-setuid")
        shutil.copy(shutil.which("true"), program)
        os.chown(program, 65534, 65534)
        os.chmod(program, 0o755 | stat.S_ISUID)
        os.chmod(self.dir, 0o755)
        done = launch("-o", self.prefix, "--", program)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("set-user-ID", lines[0])

    @unittest.skipUnless(os.geteuid() == 0, "needs root to set file capabilities")
    def test_warns_a_user_about_a_program_with_file_capabilities(self):
        setcap = shutil.which("setcap") or "/usr/sbin/setcap"
        program = os.path.join(self.dir, "true-caps")
        shutil.copy(shutil.which("true"), program)
        subprocess.run([setcap, "cap_net_raw+ep", program], check=True)
        os.chmod(self.dir, 0o755)
        # As nobody: file capabilities would raise its privileges.
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                               LAUNCHER, "-o", "/tmp/unused-prefix", "--", program],
                              env=clean_env(), capture_output=True, timeout=60)
        lines = done.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("has file capabilities", lines[0])
        # Root gains nothing from them: no warning.
        done = launch("-o", self.prefix, "--", program)
        self.assertEqual((done.returncode, done.stderr), (0, b""))


if __name__ == "__main__":
    unittest.main()
