"""wget (GnuTLS: gnutls_record_send/recv) under the shim over TLS to nginx
(untapped): plaintext both ways on the socket's trace."""
import os
import subprocess
import unittest

from tapshim_testlib import TapTestCase, load_traces
from tls_fixtures import NginxTLS, assert_no_tls_records, assert_plaintext_trace, require_tool, tls_env

INDEX = b"<html><body>wget over GnuTLS</body></html>\n"
LARGE = bytes((i * 29 + i // 113) % 256 for i in range(250 * 1024))
FILES = {"index.html": INDEX, "large.bin": LARGE}


class WgetTLSTest(TapTestCase):

    def setUp(self):
        super().setUp()
        self.wget_path = require_tool("wget")
        done = subprocess.run(["ldd", self.wget_path], capture_output=True, text=True, check=True)
        self.assertIn("libgnutls", done.stdout, "this test is about a GnuTLS program")
        self.nginx = NginxTLS(self.dir, FILES)

    def wget(self, path, output, prefix, *options):
        command = [self.wget_path, "-q", "--no-config", "--no-hsts", "--no-proxy", "--tries=1", "--timeout=60",
                   "--ca-certificate", self.nginx.cert, "--save-headers", "-O", output, *options,
                   f"https://localhost:{self.nginx.port}{path}"]
        done = subprocess.run(command, env=tls_env(prefix), capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(output, "rb") as f:
            return f.read()

    def check(self, prefix, path, body, saved, log_line):
        traces = load_traces(prefix)
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        [trace] = traces
        self.assertEqual(trace.remote, ("127.0.0.1", self.nginx.port), trace)
        self.assertEqual(trace.local, ("127.0.0.1", log_line.remote_port), trace)
        self.assertEqual(trace.process_name, "wget")
        assert_no_tls_records(self, trace)
        # The request: what nginx counted, in wget's form.
        request = trace.sent()
        self.assertTrue(request.startswith(f"GET {path} HTTP/1.1\r\n".encode()), request[:200])
        self.assertIn(f"\r\nHost: localhost:{self.nginx.port}\r\n".encode(), request)
        self.assertTrue(request.endswith(b"\r\n\r\n"), request[-50:])
        self.assertEqual(request.count(b"\r\n\r\n"), 1, request)
        self.assertEqual(len(request), log_line.request_length, (request, log_line))
        # The response: headers and body as wget saved them (--save-headers),
        # as many bytes as nginx sent.
        self.assertTrue(saved.endswith(body))
        assert_plaintext_trace(self, trace, request, saved)
        self.assertEqual(len(trace.received()), log_line.bytes_sent, log_line)

    def test_small_and_large(self):
        with self.nginx:
            for index, (path, body) in enumerate((("/index.html", INDEX), ("/large.bin", LARGE))):
                with self.subTest(path=path):
                    prefix = os.path.join(self.dir, f"wget{index}")
                    saved = self.wget(path, os.path.join(self.dir, f"out{index}"), prefix)
                    line = self.nginx.wait_logged(index + 1)[index]
                    self.assertEqual(line.request, f"GET {path} HTTP/1.1")
                    self.check(prefix, path, body, saved, line)

    def test_tls12(self):
        with self.nginx:
            saved = self.wget("/index.html", os.path.join(self.dir, "out"), self.prefix,
                              "--ciphers=NORMAL:-VERS-TLS1.3")
            [line] = self.nginx.wait_logged(1)
        self.assertEqual(line.ssl_protocol, "TLSv1.2")
        self.check(self.prefix, "/index.html", INDEX, saved, line)


if __name__ == "__main__":
    unittest.main()
