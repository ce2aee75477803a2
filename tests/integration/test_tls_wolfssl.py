"""wolfSSL (Debian's libwolfssl) under the shim as a client:
wolfssl_client.cc connects a socket of its own, hands it over with
wolfSSL_set_fd, sends its request through wolfSSL_write, wolfSSL_writev
and wolfSSL_send, peeks with wolfSSL_peek and reads with wolfSSL_read and
wolfSSL_recv, against an untapped Python TLS echo server (TLS 1.3 and 1.2)
and openssl s_server -www. The connection's one trace, buffered and
streamed, has the connection's addresses and exactly the plaintext the
server received and sent, whole: each write recorded once (wolfSSL_send
and wolfSSL_writev call wolfSSL_write inside the library), the peek not at
all, and no TLS record as data.

wolfSSL has no key log here (Debian's build offers no secret callback):
TAP_KEYLOG is not tested. Without wolfSSL at build time (libwolfssl-dev),
the tests skip.
"""
import os
import subprocess
import unittest

from tapshim_testlib import TapTestCase, load_traces
from tls_fixtures import (OPENSSL, TLSEchoServer, assert_decrypted, assert_plaintext_trace, local_port,
                          make_certificate, require_tool, s_server, tls_env)

WOLFSSL_CLIENT = os.environ.get("WOLFSSL_CLIENT", "")

# Part i goes through wolfSSL_write (i % 3 == 0), wolfSSL_writev (1) or
# wolfSSL_send (2); the last is over three records.
PARTS = [b"wolfSSL_write: the first part\n", b"wolfSSL_writev: two iovecs, one part\n",
         b"wolfSSL_send: the third part\n", bytes(32 + (i * 7 + i // 251) % 90 for i in range(50000))]


class WolfSslClientTest(TapTestCase):

    def setUp(self):
        super().setUp()
        if not WOLFSSL_CLIENT:
            self.skipTest("built without wolfSSL (libwolfssl-dev): no wolfssl_client")
        self.cert, self.key = make_certificate(self.dir)

    def run_client(self, prefix, options, port, parts, stdin=None, **variables):
        """wolfssl_client under the shim: (its run, its local port)."""
        done = subprocess.run([WOLFSSL_CLIENT, *options, str(port), *parts], input=stdin,
                              env=tls_env(prefix, **variables), capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done, local_port(self, done.stderr)

    def only_trace(self, prefix, server_port, client_port):
        traces = load_traces(prefix)
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        [trace] = traces
        self.assertEqual(trace.remote, ("127.0.0.1", server_port), trace)
        self.assertEqual(trace.local, ("127.0.0.1", client_port), trace)
        self.assertEqual(trace.process_name, "wolfssl_client")
        self.assertEqual(trace.origin, "OUTBOUND")
        return trace

    def echo(self, version, streaming):
        prefix = os.path.join(self.dir, f"echo{version}{streaming}")
        with TLSEchoServer(self.cert, self.key) as server:
            done, port = self.run_client(prefix, ["--cafile", self.cert, version, "--shut"], server.port, PARTS,
                                         TAP_STREAMING=streaming)
            [connection] = server.wait_closed(1)
        request = b"".join(PARTS)
        self.assertEqual(server.errors, [])
        self.assertEqual(bytes(connection.received), request)
        self.assertEqual(done.stdout, bytes(connection.sent))
        self.assertEqual(done.stdout, server.banner + request)
        trace = self.only_trace(prefix, server.port, port)
        self.assertEqual(trace.streamed, streaming == "1")
        assert_plaintext_trace(self, trace, bytes(connection.received), bytes(connection.sent))
        # The first event is the first wolfSSL_write, whole.
        self.assertEqual((trace.events[0].kind, trace.events[0].data), ("write", PARTS[0]), trace.events[:1])
        assert_decrypted(self, trace, done.stderr)

    def test_tls13_buffered(self):
        self.echo("--tls13", "0")

    def test_tls13_streamed(self):
        self.echo("--tls13", "1")

    def test_tls12_buffered(self):
        self.echo("--tls12", "0")

    def test_tls12_streamed(self):
        self.echo("--tls12", "1")

    def test_s_server_www_without_verification(self):
        """No CA (WOLFSSL_VERIFY_NONE), the request from stdin (three
        parts, one per entry point), and the server ends the connection
        after its answer."""
        require_tool(OPENSSL)
        request = b"GET /wolfssl HTTP/1.0\r\nHost: localhost\r\nUser-Agent: wolfssl_client\r\n\r\n"
        prefix = os.path.join(self.dir, "www")
        with s_server(self.dir, self.cert, self.key, "-www") as server:
            done, port = self.run_client(prefix, [], server.port, [], stdin=request)
        self.assertTrue(done.stdout.startswith(b"HTTP/1.0 200 ok\r\n"), done.stdout[:100])
        trace = self.only_trace(prefix, server.port, port)
        assert_plaintext_trace(self, trace, request, done.stdout)
        assert_decrypted(self, trace, done.stderr)


if __name__ == "__main__":
    unittest.main()
