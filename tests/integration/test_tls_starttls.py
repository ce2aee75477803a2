"""STARTTLS the way PostgreSQL speaks it (an 8-byte SSLRequest, "S", then
TLS on the same socket), with real programs: `openssl s_client -starttls
postgres` as the client and a Python ssl server as the server, each under
the shim in turn, buffered and streamed, with TAP_MATCH naming `tls`. The
one trace of the connection has its addresses and origin, the plaintext
before TLS (the SSLRequest and "S") and the TLS plaintext after; the rest
of the expression still applies."""
import os
import subprocess
import unittest

from servers import PYTHON, server_process
from tapshim_testlib import TapTestCase, free_port, load_traces
from tls_fixtures import OPENSSL, assert_plaintext_trace, make_certificate, require_tool, tls_env

HERE = os.path.dirname(os.path.abspath(__file__))
SSL_REQUEST = bytes.fromhex("0000000804d2162f")
# s_client sends its stdin and, with -quiet, waits for the server to close.
LINES = b"first secret line\nsecond secret line\nQUIT\n"
ECHOES = b"ECHO first secret line\nECHO second secret line\nBYE\n"


class StartTlsTest(TapTestCase):

    def setUp(self):
        super().setUp()
        require_tool(OPENSSL)
        self.cert, self.key = make_certificate(self.dir)

    def run_exchange(self, client_env=None, server_env=None, port=None):
        """One connection: the server (under server_env) and s_client
        (under client_env). Returns the server's port and the client's."""
        port = port or free_port()
        client_port = free_port()
        server = [PYTHON, os.path.join(HERE, "pg_starttls_server.py"), str(port), self.cert,
                  self.key]
        with server_process(server, port, env=server_env or dict(os.environ),
                            log_path=os.path.join(self.dir, "server.log"),
                            stop_signal=15):
            done = subprocess.run(
                [OPENSSL, "s_client", "-starttls", "postgres", "-connect", f"127.0.0.1:{port}",
                 "-bind", f"127.0.0.1:{client_port}", "-servername", "localhost", "-CAfile",
                 self.cert, "-verify_return_error", "-quiet", "-nocommands"],
                input=LINES, env=client_env or dict(os.environ), capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, ECHOES, done.stderr)
        return port, client_port

    def one_trace(self, prefix):
        traces = load_traces(prefix)
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        return traces[0]

    def test_client_side(self):
        for index, variables in enumerate([{"TAP_MATCH": "tls"},
                                           {"TAP_MATCH": "tls and port {port}"},
                                           {"TAP_MATCH": "tls", "TAP_STREAMING": "1"},
                                           {}]):
            with self.subTest(**variables):
                prefix = os.path.join(self.dir, f"client{index}")
                port = free_port()
                # The port is in the expression: pick it first, then run.
                variables = {k: v.replace("{port}", str(port)) for k, v in variables.items()}
                port, client_port = self.run_exchange(client_env=tls_env(prefix, **variables),
                                                      port=port)
                trace = self.one_trace(prefix)
                self.assertEqual(trace.local, ("127.0.0.1", client_port), trace)
                self.assertEqual(trace.remote, ("127.0.0.1", port), trace)
                self.assertEqual(trace.origin, "OUTBOUND", trace)
                assert_plaintext_trace(self, trace, SSL_REQUEST + LINES, b"S" + ECHOES)
                self.assertEqual(trace.events[0].data, SSL_REQUEST)

    def test_server_side(self):
        for index, variables in enumerate([{"TAP_MATCH": "tls and inbound"},
                                           {"TAP_MATCH": "tls", "TAP_STREAMING": "1"}]):
            with self.subTest(**variables):
                prefix = os.path.join(self.dir, f"server{index}")
                port, client_port = self.run_exchange(server_env=tls_env(prefix, **variables))
                trace = self.one_trace(prefix)
                self.assertEqual(trace.local, ("127.0.0.1", port), trace)
                self.assertEqual(trace.remote, ("127.0.0.1", client_port), trace)
                self.assertEqual(trace.origin, "INBOUND", trace)
                assert_plaintext_trace(self, trace, b"S" + ECHOES, SSL_REQUEST + LINES)

    def test_rest_of_the_expression_still_applies(self):
        prefix = os.path.join(self.dir, "other-port")
        self.run_exchange(client_env=tls_env(prefix, TAP_MATCH="tls and port 1"))
        self.assertEqual(load_traces(prefix), [])


if __name__ == "__main__":
    unittest.main()
