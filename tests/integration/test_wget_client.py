"""wget under the shim, as a client of untapped servers on loopback."""
import os
import subprocess
import unittest

from servers import RecordingHTTPServer, check_buffered_direction, http_server_command, server_process
from tapshim_testlib import TapTestCase, free_port, load_traces, shim_env

SMALL = b"wget fetched this\n" * 5
MEDIUM = bytes((i * 31 + 1) % 256 for i in range(5000))
LARGE = os.urandom(100 * 1024)
WGET = ["wget", "-q", "--no-proxy", "--tries=1", "--timeout=60"]


class WgetClientTest(TapTestCase):

    def wget(self, url, output, env):
        done = subprocess.run(WGET + ["-O", output, url], env=env, capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(output, "rb") as f:
            return f.read()

    def test_exact_bytes_against_recording_server(self):
        routes = {"/small": SMALL, "/medium": MEDIUM, "/large": LARGE}
        cases = [("/small", {}), ("/medium", {}), ("/large", {}),
                 ("/large", {"TAP_MAX_BUFFERED_RX_BYTES": 10 * 1024 * 1024})]
        with RecordingHTTPServer(routes) as server:
            for index, (path, limits) in enumerate(cases):
                with self.subTest(path=path, limits=limits):
                    prefix = os.path.join(self.dir, f"case{index}")
                    output = os.path.join(self.dir, f"out{index}")
                    body = self.wget(server.url(path), output, shim_env(prefix, **limits))
                    self.assertEqual(body, routes[path])
                    server.wait_closed(index + 1)
                    [trace] = load_traces(prefix)
                    connection = server.connection_from(trace.local[1])
                    self.assertEqual(trace.remote, ("127.0.0.1", server.port))
                    self.assertEqual(trace.local, ("127.0.0.1", connection.peer[1]))
                    self.assertEqual(trace.process_name, "wget")
                    self.assertTrue(connection.received.startswith(f"GET {path} HTTP/1.1\r\n".encode()))
                    check_buffered_direction(self, trace, "write", bytes(connection.received))
                    limit = int(limits.get("TAP_MAX_BUFFERED_RX_BYTES", 1024))
                    check_buffered_direction(self, trace, "read", bytes(connection.sent), limit)

    def test_http_server(self):
        root = os.path.join(self.dir, "www")
        os.mkdir(root)
        with open(os.path.join(root, "file.txt"), "wb") as f:
            f.write(SMALL)
        port = free_port()
        with server_process(http_server_command(root, port), port):
            output = os.path.join(self.dir, "saved")
            saved = self.wget(f"http://127.0.0.1:{port}/file.txt", output,
                              shim_env(self.prefix))
        self.assertEqual(saved, SMALL)
        [trace] = self.traces()
        self.assertEqual(trace.remote, ("127.0.0.1", port))
        self.assertNotIn(trace.local[1], (0, port))
        self.assertTrue(trace.sent().startswith(b"GET /file.txt HTTP/1.1\r\n"), trace.sent())
        self.assertTrue(trace.sent().endswith(b"\r\n\r\n"))
        received = trace.received()
        self.assertTrue(received.startswith(b"HTTP/1.0 200 OK\r\n"), received)
        head, _, body = received.partition(b"\r\n\r\n")
        self.assertEqual(body, SMALL)
        self.assertIn(f"Content-Length: {len(SMALL)}".encode(), head.split(b"\r\n"))
        self.assertFalse(trace.read_truncated or trace.write_truncated)


if __name__ == "__main__":
    unittest.main()
