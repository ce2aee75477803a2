"""nginx (master + 2 workers, OpenSSL) under the shim, serving TLS with
HTTP/1.1 and HTTP/2 to untapped clients: the workers' traces hold the
plaintext requests and responses, on the accepted sockets' addresses."""
import os
import socket
import subprocess
import unittest

from servers import wait_until
from tapshim_testlib import TapTestCase
from tls_fixtures import (H2_PREFACE, NginxTLS, assert_no_tls_records, assert_plaintext_trace, assert_whole,
                          client_context, curl_plaintext, h2_frames, require_tool, tls_env)

INDEX = b"<html><body>nginx TLS under tapshim</body></html>\n"
LARGE = bytes((i * 17 + i // 71) % 256 for i in range(150 * 1024))
FILES = {"index.html": INDEX, "large.bin": LARGE}


class NginxTLSServerTest(TapTestCase):

    def raw_exchange(self, nginx, request):
        """One request on its own TLS connection, read to EOF (the request
        says Connection: close): (client port, response)."""
        context = client_context(nginx.cert)
        with socket.create_connection(("127.0.0.1", nginx.port), timeout=60) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as tls:
            port = tls.getsockname()[1]
            tls.sendall(request)
            response = bytearray()
            while chunk := tls.recv(65536):
                response += chunk
        return port, bytes(response)

    def curl(self, nginx, *args):
        trace_file = os.path.join(self.dir, f"curl-trace-{len(os.listdir(self.dir))}")
        done = subprocess.run(["curl", "-s", "-S", "--noproxy", "*", "--cacert", nginx.cert,
                               "--resolve", f"localhost:{nginx.port}:127.0.0.1", "--trace", trace_file,
                               "-w", "%{local_port}", "-o", os.devnull, *args],
                              capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        return int(done.stdout), trace_file

    def test_workers_record_plaintext(self):
        require_tool("curl")
        host = "localhost"
        requests = [
            f"GET /index.html HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode(),
            f"GET /large.bin HTTP/1.1\r\nHost: {host}\r\nUser-Agent: raw\r\nConnection: close\r\n\r\n".encode(),
            f"GET /missing HTTP/1.0\r\nHost: {host}\r\nX-Pad: {'p' * 3000}\r\n\r\n".encode(),
        ]
        raw = {}
        with NginxTLS(self.dir, FILES, env=tls_env(self.prefix)) as nginx:
            for request in requests:
                port, response = self.raw_exchange(nginx, request)
                raw[port] = (request, response)
            h1_port, h1_trace = self.curl(nginx, "--http1.1", nginx.url("/index.html"))
            h2_port, _ = self.curl(nginx, "--http2", nginx.url("/large.bin"))
            expected = len(raw) + 2 + 1  # + the readiness probe
            wait_until(lambda: len(self.trace_files()) >= expected, 60, f"{expected} trace files")
            workers = nginx.workers
        self.assertEqual(nginx.process.returncode, 0, nginx.output())

        traces = self.traces()
        ports = sorted(t.remote[1] for t in traces)
        self.assertEqual(ports, sorted(list(raw) + [h1_port, h2_port, nginx.probe_port]), traces)
        for trace in traces:
            self.assertIn(trace.pid, workers, trace)
            self.assertEqual(trace.process_name, "nginx")
            self.assertEqual(trace.local, ("127.0.0.1", nginx.port))
            self.assertEqual(trace.remote[0], "127.0.0.1")
            assert_no_tls_records(self, trace)
        by_port = {t.remote[1]: t for t in traces}

        self.assertEqual([e for e in by_port[nginx.probe_port].events if e.kind != "closed"], [])
        for port, (request, response) in raw.items():
            self.assertTrue(response.startswith(b"HTTP/1.1 "), response[:100])
            assert_plaintext_trace(self, by_port[port], sent=response, received=request)
        # curl, HTTP/1.1: nginx read what curl sent and wrote what curl read.
        sent, received = curl_plaintext(h1_trace)
        assert_plaintext_trace(self, by_port[h1_port], sent=received, received=sent)
        # curl, HTTP/2: nginx read the preface first, then whole frames.
        trace = by_port[h2_port]
        assert_whole(self, trace)
        reads = [e for e in trace.events if e.kind == "read"]
        self.assertTrue(reads and reads[0].data.startswith(H2_PREFACE[:len(reads[0].data)]), reads[:1])
        self.assertTrue(trace.received().startswith(H2_PREFACE), trace.received()[:40])
        h2_frames(trace.received()[len(H2_PREFACE):])
        body = b"".join(payload for kind, _, stream, payload in h2_frames(trace.sent()) if kind == 0)
        self.assertEqual(body, LARGE)

        access = nginx.access_log()
        self.assertEqual(len(access), len(raw) + 2, access)
        for line in access:
            if line.protocol == "HTTP/2.0":
                continue  # one connection, counted per stream
            trace = by_port[line.remote_port]
            self.assertEqual(line.request_length, len(trace.received()), line)
            self.assertEqual(line.bytes_sent, len(trace.sent()), line)

if __name__ == "__main__":
    unittest.main()
