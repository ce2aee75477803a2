"""curl (OpenSSL, its own BIO) under the shim over TLS to nginx (untapped):
HTTP/1.1 and HTTP/2, plaintext both ways on the socket's trace."""
import os
import subprocess
import unittest

from tapshim_testlib import TapTestCase, load_traces
from tls_fixtures import (H2_PREFACE, NginxTLS, assert_no_tls_records, assert_plaintext_trace,
                          assert_whole, curl_plaintext, h2_frames, require_tool, summary, tls_env)

INDEX = b"<html><body>TLS under tapshim</body></html>\n"
LARGE = bytes((i * 31 + i // 97) % 256 for i in range(300 * 1024))
FILES = {"index.html": INDEX, "large.bin": LARGE}
CURL = ["curl", "-s", "-S", "--fail", "--noproxy", "*"]


class CurlTLSTest(TapTestCase):

    def setUp(self):
        super().setUp()
        require_tool("curl")
        self.nginx = NginxTLS(self.dir, FILES)

    def curl(self, *args, prefix=None, env=None):
        trace_file = os.path.join(self.dir, f"curl-trace-{len(os.listdir(self.dir))}")
        command = CURL + ["--cacert", self.nginx.cert, "--resolve", f"localhost:{self.nginx.port}:127.0.0.1",
                          "--trace", trace_file, *args]
        done = subprocess.run(command, env=env or tls_env(prefix or self.prefix), capture_output=True,
                              timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done, trace_file

    def check_addresses(self, trace, log_lines):
        self.assertEqual(trace.remote, ("127.0.0.1", self.nginx.port), trace)
        self.assertEqual(trace.local[0], "127.0.0.1", trace)
        self.assertNotIn(trace.local[1], (0, self.nginx.port), trace)
        self.assertEqual({line.remote_port for line in log_lines}, {trace.local[1]},
                         f"nginx saw other client ports than the trace's: {log_lines} vs {trace}")
        self.assertEqual(trace.process_name, "curl")

    def test_http11_one_request(self):
        with self.nginx:
            done, trace_file = self.curl("--http1.1", self.nginx.url("/index.html"))
            log = self.nginx.wait_logged(1)
        self.assertEqual(done.stdout, INDEX)
        sent, received = curl_plaintext(trace_file)
        self.assertTrue(sent.startswith(b"GET /index.html HTTP/1.1\r\nHost: localhost:"), sent)
        self.assertTrue(received.startswith(b"HTTP/1.1 200 OK\r\n") and received.endswith(INDEX), received)
        traces = self.traces()
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        [trace] = traces
        assert_plaintext_trace(self, trace, sent, received)
        # nginx's own count of the bytes of the request and of the response.
        [line] = log
        self.assertEqual((line.request, line.status, line.protocol), ("GET /index.html HTTP/1.1", 200, "HTTP/1.1"))
        self.assertEqual(line.request_length, len(trace.sent()))
        self.assertEqual(line.bytes_sent, len(trace.received()))
        self.check_addresses(trace, log)
        # The request is written before the response is read.
        self.assertEqual(trace.events[0].kind, "write", trace.events)
        self.assertTrue(trace.events[0].data.startswith(b"GET /index.html HTTP/1.1\r\n"), trace.events[0])

    def test_http11_large_body_and_keep_alive(self):
        """Two requests on one connection; a 300 KiB body (many records)."""
        with self.nginx:
            done, trace_file = self.curl("--http1.1", self.nginx.url("/large.bin"), self.nginx.url("/index.html"))
            log = self.nginx.wait_logged(2)
        self.assertEqual(done.stdout, LARGE + INDEX)
        sent, received = curl_plaintext(trace_file)
        self.assertEqual(sent.count(b"GET /"), 2, sent)
        self.assertTrue(received.endswith(INDEX))
        self.assertIn(LARGE, received)
        traces = self.traces()
        self.assertEqual(len(traces), 1, f"one keep-alive connection, one trace: {traces}")
        [trace] = traces
        assert_plaintext_trace(self, trace, sent, received)
        self.assertEqual(len({line.connection for line in log}), 1, log)
        self.assertEqual(sum(line.request_length for line in log), len(trace.sent()))
        self.assertEqual(sum(line.bytes_sent for line in log), len(trace.received()))
        self.check_addresses(trace, log)
        kinds = []
        for event in trace.events:
            if event.kind in ("read", "write") and (not kinds or kinds[-1] != event.kind):
                kinds.append(event.kind)
        self.assertEqual(kinds, ["write", "read", "write", "read"], trace.events[:10])

    def test_http2(self):
        with self.nginx:
            done, _ = self.curl("--http2", self.nginx.url("/index.html"), self.nginx.url("/large.bin"))
            log = self.nginx.wait_logged(2)
        self.assertEqual(done.stdout, INDEX + LARGE)
        self.assertEqual({line.protocol for line in log}, {"HTTP/2.0"}, log)
        traces = self.traces()
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        [trace] = traces
        self.check_addresses(trace, log)
        assert_no_tls_records(self, trace)
        assert_whole(self, trace)
        writes = [e for e in trace.events if e.kind == "write"]
        self.assertTrue(writes, trace)
        self.assertTrue(writes[0].data.startswith(H2_PREFACE),
                        f"the first written bytes are not the HTTP/2 preface: {writes[0].data[:32]!r}")
        self.assertTrue(trace.sent().startswith(H2_PREFACE))
        # Both directions are whole HTTP/2 frames; the server's DATA frames
        # carry the two bodies, byte for byte.
        sent_frames = h2_frames(trace.sent()[len(H2_PREFACE):])
        received_frames = h2_frames(trace.received())
        self.assertEqual(sent_frames[0][0], 4, "the client's first frame is SETTINGS")
        self.assertEqual(received_frames[0][0], 4, "the server's first frame is SETTINGS")
        headers_streams = sorted(stream for kind, _, stream, _ in sent_frames if kind == 1)
        self.assertEqual(len(headers_streams), 2, sent_frames)
        bodies = {stream: b"" for stream in headers_streams}
        for kind, flags, stream, payload in received_frames:
            if kind == 0:
                self.assertFalse(flags & 0x8, "nginx does not pad DATA frames")
                bodies[stream] += payload
        self.assertEqual(bodies[headers_streams[0]], INDEX, summary(bodies[headers_streams[0]], INDEX))
        self.assertEqual(bodies[headers_streams[1]], LARGE, summary(bodies[headers_streams[1]], LARGE))

    def test_tls12_http11(self):
        """TLS 1.2 too (other handshake, other record flow)."""
        with self.nginx:
            done, trace_file = self.curl("--http1.1", "--tlsv1.2", "--tls-max", "1.2",
                                         self.nginx.url("/index.html"))
            log = self.nginx.wait_logged(1)
        self.assertEqual(done.stdout, INDEX)
        self.assertEqual(log[0].ssl_protocol, "TLSv1.2")
        sent, received = curl_plaintext(trace_file)
        [trace] = self.traces()
        assert_plaintext_trace(self, trace, sent, received)
        self.check_addresses(trace, log)

    def test_streamed_mode(self):
        """TAP_STREAMING: the streamed trace of a TLS connection is the same
        plaintext."""
        with self.nginx:
            done, trace_file = self.curl("--http1.1", self.nginx.url("/index.html"),
                                         env=tls_env(self.prefix, TAP_STREAMING=1))
            log = self.nginx.wait_logged(1)
        self.assertEqual(done.stdout, INDEX)
        sent, received = curl_plaintext(trace_file)
        [trace] = load_traces(self.prefix)
        self.assertTrue(trace.streamed, trace)
        assert_plaintext_trace(self, trace, sent, received)
        self.check_addresses(trace, log)


if __name__ == "__main__":
    unittest.main()
