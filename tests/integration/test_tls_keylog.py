"""TAP_KEYLOG: the shim appends the TLS secrets of tapped connections in NSS
key log format, which lets tshark decrypt a tcpdump capture of the same
connection; a key log the program writes itself keeps working (chained,
not replaced)."""
import json
import os
import resource
import subprocess
import textwrap
import unittest

from tapshim_testlib import TapTestCase, load_traces
from tls_fixtures import (KEYLOG_LINE, NginxTLS, assert_plaintext_trace, curl_plaintext, require_tool, tcpdump,
                          tls_env)

INDEX = b"<html><body>decrypt me</body></html>\n"
FILES = {"index.html": INDEX}
TLS13_LABELS = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0"}

PYTHON_OWN_KEYLOG = textwrap.dedent("""
    import json, socket, ssl, sys
    port, cafile, own = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    context.keylog_filename = own
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60),
                             server_hostname="localhost") as tls:
        tls.sendall(b"GET /index.html HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
        received = b""
        while chunk := tls.recv(65536):
            received += chunk
    print(json.dumps({"received": len(received), "ok": received.endswith(%r)}))
""" % INDEX)


# After a handshake the program holds no fd of the key log: one it could
# close and reuse (a daemon closing every fd, then opening a socket there)
# would carry TLS secrets to wherever the program points it.
PYTHON_LISTS_FDS = textwrap.dedent("""
    import json, os, socket, ssl, sys
    port, cafile, keys = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60),
                             server_hostname="localhost") as tls:
        tls.sendall(b"GET /index.html HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
        while tls.recv(65536):
            pass
        links = []
        for name in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink("/proc/self/fd/" + name))
            except OSError:
                pass
    print(json.dumps({"keylog_fds": [l for l in links if l == keys],
                      "keys_written": os.path.getsize(keys) > 0}))
""")


def keylog_env(prefix, keys):
    """A tapped program's environment with TAP_KEYLOG, and without the
    SSLKEYLOGFILE a developer may have set (it would add a second log)."""
    env = tls_env(prefix, TAP_KEYLOG=keys)
    env.pop("SSLKEYLOGFILE", None)
    return env


def key_lines(test, path):
    """The key log's lines, each checked complete; comments (Python's own
    header) left out."""
    test.assertTrue(os.path.exists(path), f"no key log at {path}")
    with open(path, "rb") as f:
        text = f.read().decode("ascii")
    test.assertTrue(text.endswith("\n"), f"the key log does not end with a whole line: {text[-80:]!r}")
    lines = []
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            continue
        test.assertRegex(line, "^" + KEYLOG_LINE.pattern + "$", f"not a complete NSS key log line in {path}")
        lines.append(line)
    test.assertTrue(lines, f"no key log lines in {path}")
    return lines


class KeyLogTest(TapTestCase):

    def setUp(self):
        super().setUp()
        require_tool("curl")
        self.tshark_path = require_tool("tshark")
        self.nginx = NginxTLS(self.dir, FILES)
        self.keys = os.path.join(self.dir, "keys")

    def curl(self, env, *args):
        trace_file = os.path.join(self.dir, f"curl-trace-{len(os.listdir(self.dir))}")
        done = subprocess.run(["curl", "-s", "-S", "--fail", "--noproxy", "*", "--http1.1", "--cacert", self.nginx.cert,
                               "--resolve", f"localhost:{self.nginx.port}:127.0.0.1", "--trace", trace_file, *args,
                               self.nginx.url("/index.html")], env=env, capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, INDEX)
        return trace_file

    def tshark(self, capture, *args):
        done = subprocess.run([self.tshark_path, "-n", "-r", capture, "-d", f"tcp.port=={self.nginx.port},tls", *args],
                              capture_output=True, timeout=120, env=dict(os.environ, HOME=self.dir))
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout.decode()

    def capture_curl(self, name, *curl_args):
        capture = os.path.join(self.dir, f"{name}.pcap")
        env = keylog_env(os.path.join(self.dir, name), self.keys)
        with tcpdump(capture, self.nginx.port):
            trace_file = self.curl(env, *curl_args)
        return capture, trace_file

    def check_decryption(self, capture, keys):
        # Without the keys nothing decrypts (the check below can fail)...
        self.assertEqual(self.tshark(capture, "-Y", "http", "-T", "fields", "-e", "http.request.uri").split(), [])
        # ... with the shim's key log, tshark reads the request and response.
        decrypted = self.tshark(capture, "-o", f"tls.keylog_file:{keys}", "-Y", "http", "-T", "fields",
                                "-e", "http.request.uri", "-e", "http.response.code").split()
        self.assertEqual(decrypted, ["/index.html", "200"], f"tshark with {keys}")
        body = self.tshark(capture, "-o", f"tls.keylog_file:{keys}", "-Y", "http.response", "-T", "fields",
                           "-e", "http.file_data").strip()
        self.assertIn(INDEX.decode().strip(), body)  # tshark prints it as an escaped string
        # The key log's client random is the ClientHello's.
        randoms = self.tshark(capture, "-Y", "tls.handshake.type == 1", "-T", "fields",
                              "-e", "tls.handshake.random").split()
        self.assertEqual(len(randoms), 1, randoms)
        return randoms[0].replace(":", "")

    def test_tls13_keylog_decrypts_capture(self):
        with self.nginx:
            capture, trace_file = self.capture_curl("tls13")
        lines = key_lines(self, self.keys)
        labels = {line.split()[0] for line in lines}
        self.assertTrue(TLS13_LABELS <= labels, f"TLS 1.3 secrets missing: {labels}")
        self.assertEqual(len(lines), len(set(lines)), "a secret logged twice")
        client_random = self.check_decryption(capture, self.keys)
        self.assertEqual({line.split()[1] for line in lines}, {client_random})
        # And the trace of the same connection is plaintext.
        [trace] = load_traces(os.path.join(self.dir, "tls13"))
        sent, received = curl_plaintext(trace_file)
        assert_plaintext_trace(self, trace, sent, received)

    def test_tls12_keylog_decrypts_capture(self):
        with self.nginx:
            capture, _ = self.capture_curl("tls12", "--tlsv1.2", "--tls-max", "1.2")
        lines = key_lines(self, self.keys)
        self.assertEqual([line.split()[0] for line in lines], ["CLIENT_RANDOM"], lines)
        client_random = self.check_decryption(capture, self.keys)
        self.assertEqual(lines[0].split()[1], client_random)

    def test_trace_and_keylog_together(self):
        prefix = os.path.join(self.dir, "both")
        with self.nginx:
            trace_file = self.curl(keylog_env(prefix, self.keys))
        key_lines(self, self.keys)
        [trace] = load_traces(prefix)
        sent, received = curl_plaintext(trace_file)
        assert_plaintext_trace(self, trace, sent, received)

    def test_file_size_limit_never_kills_the_program(self):
        """Under `ulimit -f` the key log stops short of the limit, with one
        line on stderr, where a write past it would get curl SIGXFSZ."""
        limit = 300  # the first line fits, the second would cross the limit
        env = keylog_env(os.path.join(self.dir, "limited"), self.keys)
        with self.nginx:
            done = subprocess.run(
                ["curl", "-s", "-S", "--fail", "--noproxy", "*", "--cacert", self.nginx.cert,
                 "--resolve", f"localhost:{self.nginx.port}:127.0.0.1",
                 self.nginx.url("/index.html")], env=env, capture_output=True, timeout=120,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, INDEX)
        self.assertIn(b"reached the file size limit (RLIMIT_FSIZE)", done.stderr)
        self.assertLessEqual(os.path.getsize(self.keys), limit)
        self.assertEqual(len(key_lines(self, self.keys)), 1)

    def test_parallel_processes_append_whole_lines(self):
        """Four curls at once append to one key log: every line whole."""
        with self.nginx:
            processes = []
            for index in range(4):
                env = keylog_env(os.path.join(self.dir, f"p{index}"), self.keys)
                processes.append(subprocess.Popen(
                    ["curl", "-s", "-S", "--fail", "--noproxy", "*", "--cacert", self.nginx.cert,
                     "--resolve", f"localhost:{self.nginx.port}:127.0.0.1", "-o", os.devnull,
                     self.nginx.url("/index.html"), self.nginx.url("/index.html")], env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            for process in processes:
                _, stderr = process.communicate(timeout=120)
                self.assertEqual(process.returncode, 0, stderr)
        lines = key_lines(self, self.keys)
        randoms = {line.split()[1] for line in lines}
        self.assertEqual(len(randoms), 4, "one TLS session per curl")
        for client_random in randoms:
            labels = {line.split()[0] for line in lines if line.split()[1] == client_random}
            self.assertTrue(TLS13_LABELS <= labels, labels)

    def test_python_own_keylog_is_chained(self):
        """Python's SSLContext.keylog_filename installs its own callback:
        under the shim with TAP_KEYLOG both files get the secrets."""
        own = os.path.join(self.dir, "own-keys")
        for python in ("/usr/bin/python3", "python3"):
            with self.subTest(python=python):
                for path in (own, self.keys):
                    if os.path.exists(path):
                        os.unlink(path)
                with self.nginx_fresh() as nginx:
                    env = keylog_env(os.path.join(self.dir, f"py{len(os.listdir(self.dir))}"), self.keys)
                    done = subprocess.run([python, "-c", PYTHON_OWN_KEYLOG, str(nginx.port), nginx.cert, own],
                                          env=env, capture_output=True, timeout=120)
                    self.assertEqual(done.returncode, 0, done.stderr)
                    self.assertIn(b'"ok": true', done.stdout)
                own_lines = key_lines(self, own)
                shim_lines = key_lines(self, self.keys)
                self.assertEqual(sorted(own_lines), sorted(shim_lines))

    def test_curl_sslkeylogfile_is_chained(self):
        """curl's own SSLKEYLOGFILE callback keeps working under TAP_KEYLOG."""
        own = os.path.join(self.dir, "curl-own-keys")
        with self.nginx:
            env = tls_env(os.path.join(self.dir, "curlown"), TAP_KEYLOG=self.keys)
            env["SSLKEYLOGFILE"] = own
            done = subprocess.run(["curl", "-s", "-S", "--fail", "--noproxy", "*", "--cacert", self.nginx.cert,
                                   "--resolve", f"localhost:{self.nginx.port}:127.0.0.1",
                                   self.nginx.url("/index.html")], env=env, capture_output=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(sorted(key_lines(self, own)), sorted(key_lines(self, self.keys)))

    def test_no_keylog_fd_stays_open_in_the_program(self):
        with self.nginx:
            env = keylog_env(os.path.join(self.dir, "fds"), self.keys)
            done = subprocess.run(["/usr/bin/python3", "-c", PYTHON_LISTS_FDS, str(self.nginx.port),
                                   self.nginx.cert, self.keys], env=env, capture_output=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stderr)
        result = json.loads(done.stdout)
        self.assertTrue(result["keys_written"])
        self.assertEqual(result["keylog_fds"], [])
        key_lines(self, self.keys)

    def nginx_fresh(self):
        """A new nginx per subtest (its own directory)."""
        directory = os.path.join(self.dir, f"n{len(os.listdir(self.dir))}")
        os.mkdir(directory)
        return NginxTLS(directory, FILES)


if __name__ == "__main__":
    unittest.main()
