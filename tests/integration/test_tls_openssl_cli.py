"""openssl s_client under the shim against openssl s_server -rev
(untapped): each line the client sends comes back reversed; CLOSE ends the
connection. The trace holds exactly stdin (sent) and stdout (received)."""
import subprocess
import unittest

from tapshim_testlib import TapTestCase, free_port
from tls_fixtures import OPENSSL, assert_plaintext_trace, make_certificate, require_tool, s_server, tls_env


def reversed_lines(lines):
    return b"".join(line.rstrip(b"\n")[::-1] + b"\n" for line in lines)


class OpenSSLClientTest(TapTestCase):

    def setUp(self):
        super().setUp()
        require_tool(OPENSSL)
        self.cert, self.key = make_certificate(self.dir)

    def s_client(self, port, stdin, *options):
        # -bind: the client's port is known, so the trace's local address
        # can be checked against the real one.
        self.client_port = free_port()
        command = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-bind", f"127.0.0.1:{self.client_port}",
                   "-servername", "localhost",
                   "-CAfile", self.cert, "-verify_return_error", "-quiet", "-nocommands", *options]
        done = subprocess.run(command, input=stdin, env=tls_env(self.prefix),
                              capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def exchange(self, lines, *options):
        stdin = b"".join(lines) + b"CLOSE\n"
        with s_server(self.dir, self.cert, self.key, "-rev", *options) as server:
            done = self.s_client(server.port, stdin, *options)
        self.assertEqual(done.stdout, reversed_lines(lines), done.stderr)
        return server, stdin, done, self.traces()

    def check(self, server, stdin, done, traces):
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        [trace] = traces
        self.assertEqual(trace.remote, ("127.0.0.1", server.port), trace)
        self.assertEqual(trace.local, ("127.0.0.1", self.client_port), trace)
        self.assertEqual(trace.process_name, "openssl")
        assert_plaintext_trace(self, trace, stdin, done.stdout)

    def test_lines_tls13(self):
        lines = [b"hello tapshim\n", b"second line over TLS\n", b"a third, longer line: " + b"x" * 300 + b"\n"]
        self.check(*self.exchange(lines))

    def test_lines_tls12(self):
        lines = [b"TLS 1.2 this time\n", b"and another line\n"]
        self.check(*self.exchange(lines, "-tls1_2"))

    def test_many_lines(self):
        """~190 KiB each way: many records, many reads and writes."""
        lines = [(b"%05d " % i) + bytes(33 + (j * 7) % 90 for j in range(i % 300)) + b"\n"
                 for i in range(2000)]
        self.check(*self.exchange(lines))


if __name__ == "__main__":
    unittest.main()
