"""Real plaintext traces of TLS connections: curl over HTTP/2 and HTTP/1.1
with TLS to nginx, under libtapshim.so. Their captures reassemble exactly
the recorded plaintext, with no TCP analysis complaints, and tshark decodes
the HTTP/2 one as HTTP/2 with `-d tcp.port==P,http2`."""
import os
import subprocess
import sys
import unittest

import tshark_judge as judge

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "integration"))
import tapshim_testlib as lib  # noqa: E402
from tls_fixtures import NginxTLS, tls_env  # noqa: E402

BODY = bytes((i * 31 + 7) % 256 for i in range(150000))


class TlsCaptureTest(lib.TapTestCase):

    def capture_of_curl(self, http_flag):
        with NginxTLS(self.dir, {"body.bin": BODY}) as nginx:
            subprocess.run(["curl", "-s", http_flag, "--cacert", nginx.cert, "-o", os.devnull,
                            nginx.url("/body.bin")], env=tls_env(self.prefix), check=True,
                           timeout=60)
            port = nginx.port
        [trace] = self.traces()
        self.assertTrue(trace.received().endswith(BODY) or http_flag == "--http2")
        capture = os.path.join(self.dir, "tls.pcapng")
        judge.run_tap2pcap([trace.path, capture])
        self.assertEqual(judge.analysis_flags(capture), "")
        [stream] = judge.follow_streams(capture)
        local = f"{trace.local[0]}:{trace.local[1]}"
        remote = f"{trace.remote[0]}:{trace.remote[1]}"
        judge.check_stream(self, stream, local, remote, trace.received(), trace.sent())
        return capture, port, trace

    def test_http2_over_tls_decodes_as_http2(self):
        capture, port, trace = self.capture_of_curl("--http2")
        self.assertTrue(trace.sent().startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
        frames = judge.tshark(capture, "-d", f"tcp.port=={port},http2", "-Y", "http2",
                              "-T", "fields", "-e", "http2.type")
        types = {t for line in frames.split() for t in line.split(",")}
        self.assertIn("1", types)  # HEADERS
        self.assertIn("0", types)  # DATA
        status = judge.tshark(capture, "-d", f"tcp.port=={port},http2", "-Y",
                              "http2.headers.status", "-T", "fields", "-e", "http2.headers.status")
        self.assertEqual(status.split(), ["200"])

    def test_http1_over_tls_decodes_as_http(self):
        capture, port, trace = self.capture_of_curl("--http1.1")
        requests = judge.tshark(capture, "-d", f"tcp.port=={port},http", "-Y", "http.request",
                                "-T", "fields", "-e", "http.request.uri")
        self.assertEqual(requests.split(), ["/body.bin"])


if __name__ == "__main__":
    unittest.main()
