"""The project's non-blocking OpenSSL client (tests/integration/nonblocking_tls_client)
under the shim against a TLS echo server (untapped): WANT_READ/WANT_WRITE
retries, partial writes (SSL_MODE_ENABLE_PARTIAL_WRITE, a ~1 MiB request),
SSL_write/SSL_write_ex, SSL_read/SSL_read_ex, SSL_peek/SSL_peek_ex and
SSL_shutdown: the trace holds exactly what the write calls reported written
and the read calls returned; peeks and retries add nothing."""
import json
import os
import subprocess
import unittest

from servers import PATTERN
from tapshim_testlib import TapTestCase, load_traces
from tls_fixtures import (TLS_CLIENT, TLSEchoServer, assert_plaintext_trace, make_certificate, require_tool,
                          tls_env)

SIZE = 1 << 20


class NonBlockingTLSTest(TapTestCase):

    def setUp(self):
        super().setUp()
        if not TLS_CLIENT:
            raise AssertionError("TLS_CLIENT is not set; run under meson test")
        require_tool(TLS_CLIENT)
        self.cert, self.key = make_certificate(self.dir)

    def run_client(self, server, name, env_extra=None):
        prefix = os.path.join(self.dir, name)
        sent_path, received_path = prefix + ".sent", prefix + ".received"
        done = subprocess.run([TLS_CLIENT, "127.0.0.1", str(server.port), str(SIZE), sent_path, received_path],
                              env=tls_env(prefix, **(env_extra or {})), capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        result = json.loads(done.stdout)
        with open(sent_path, "rb") as f:
            sent = f.read()
        with open(received_path, "rb") as f:
            received = f.read()
        return prefix, result, sent, received

    def check_run(self, server, prefix, result, sent, received, index):
        # The program itself: every path was taken.
        for counter in ("want_read", "want_write", "partial_writes", "SSL_write", "SSL_write_ex", "SSL_read",
                        "SSL_read_ex", "SSL_peek", "SSL_peek_ex", "peeked_bytes"):
            self.assertGreater(result[counter], 0, f"{counter} in {result}")
        self.assertEqual(sent, PATTERN[:SIZE])
        self.assertEqual(received, server.banner + PATTERN[:SIZE])
        self.assertEqual((result["sent"], result["received"]), (len(sent), len(received)))
        connections = server.wait_closed(index + 1)
        traces = load_traces(prefix)
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        [trace] = traces
        self.assertEqual(trace.remote, ("127.0.0.1", server.port), trace)
        self.assertEqual(trace.local[0], "127.0.0.1")
        connection = server.connection_from(trace.local[1])
        self.assertIn(connection, connections)
        self.assertEqual(trace.process_name, "nonblocking_tls_client"[:15])  # comm
        self.assertEqual(bytes(connection.received), sent)
        self.assertEqual(bytes(connection.sent), received)
        assert_plaintext_trace(self, trace, sent, received)
        # Events are what the calls returned: no empty data events (a
        # WANT_* or <= 0 return is no event).
        for event in trace.events:
            if event.kind in ("read", "write"):
                self.assertTrue(event.data, f"an empty {event.kind} event in {trace}")
        return trace

    def test_buffered(self):
        with TLSEchoServer(self.cert, self.key) as server:
            for index in range(3):
                with self.subTest(run=index):
                    prefix, result, sent, received = self.run_client(server, f"run{index}")
                    trace = self.check_run(server, prefix, result, sent, received, index)
                    self.assertFalse(trace.streamed)
            self.assertEqual(server.errors, [])

    def test_streamed(self):
        with TLSEchoServer(self.cert, self.key) as server:
            prefix, result, sent, received = self.run_client(server, "streamed", {"TAP_STREAMING": 1})
            trace = self.check_run(server, prefix, result, sent, received, 0)
            self.assertTrue(trace.streamed)
            self.assertEqual(server.errors, [])


if __name__ == "__main__":
    unittest.main()
