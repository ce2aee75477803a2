"""curl under the shim, as a client of untapped servers on loopback."""
import os
import socket
import subprocess
import unittest

from servers import (RecordingHTTPServer, check_buffered_direction, http_server_command,
                     server_process)
from tapshim_testlib import TapTestCase, free_port, load_traces, shim_env

SMALL = b"small file served to curl\n" * 4
MEDIUM = bytes((i * 7 + 3) % 251 for i in range(5000))
LARGE = os.urandom(100 * 1024)
BIG_LIMIT = 10 * 1024 * 1024
CURL = ["curl", "-s", "-S", "--fail", "--noproxy", "*"]


def kinds(trace):
    """The event kinds in order, runs of the same kind collapsed."""
    result = []
    for event in trace.events:
        if not result or result[-1] != event.kind:
            result.append(event.kind)
    return result


class CurlClientTest(TapTestCase):

    def curl(self, *args, env=None, **kwargs):
        done = subprocess.run(CURL + list(args), env=env or shim_env(self.prefix),
                              capture_output=True, timeout=120, **kwargs)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def check_client_trace(self, trace, connection, host="127.0.0.1", port=None):
        """Addresses and exact bytes of curl's trace against what the
        recording server saw on the same connection."""
        self.assertEqual(trace.remote, (host, port))
        self.assertEqual(trace.local, (host, connection.peer[1]))
        self.assertNotEqual(trace.local[1], 0)
        self.assertEqual(trace.process_name, "curl")
        self.assertNotEqual(trace.pid, 0)

    # --- against python3 -m http.server ---------------------------------

    def serve_directory(self):
        root = os.path.join(self.dir, "www")
        os.mkdir(root)
        for name, content in (("small.txt", SMALL), ("medium.bin", MEDIUM), ("large.bin", LARGE)):
            with open(os.path.join(root, name), "wb") as f:
                f.write(content)
        port = free_port()
        return port, server_process(http_server_command(root, port), port,
                                    log_path=os.path.join(self.dir, "http.log"))

    def fetch_to_files(self, url, env):
        headers = os.path.join(self.dir, "headers")
        body = os.path.join(self.dir, "body")
        self.curl("-D", headers, "-o", body, url, env=env)
        with open(headers, "rb") as h, open(body, "rb") as b:
            return h.read(), b.read()

    def test_http_server_files(self):
        port, server = self.serve_directory()
        cases = [("small.txt", SMALL, {}), ("medium.bin", MEDIUM, {}), ("large.bin", LARGE, {}),
                 ("medium.bin", MEDIUM, {"TAP_MAX_BUFFERED_RX_BYTES": BIG_LIMIT}),
                 ("large.bin", LARGE, {"TAP_MAX_BUFFERED_RX_BYTES": BIG_LIMIT})]
        with server:
            for name, content, limits in cases:
                with self.subTest(name=name, limits=limits):
                    prefix = os.path.join(self.dir, f"{name}-{len(limits)}")
                    url = f"http://127.0.0.1:{port}/{name}"
                    headers, body = self.fetch_to_files(url, shim_env(prefix, **limits))
                    self.assertEqual(body, content)
                    self.assertTrue(headers.startswith(b"HTTP/1.0 200 OK\r\n"), headers)
                    traces = load_traces(prefix)
                    self.assertEqual(len(traces), 1, traces)
                    trace = traces[0]
                    self.assertEqual(trace.remote, ("127.0.0.1", port))
                    self.assertEqual(trace.local[0], "127.0.0.1")
                    self.assertNotIn(trace.local[1], (0, port))
                    self.assertEqual(trace.process_name, "curl")
                    request = trace.sent()
                    self.assertTrue(request.startswith(f"GET /{name} HTTP/1.1\r\n".encode()), request)
                    self.assertTrue(request.endswith(b"\r\n\r\n"), request)
                    self.assertFalse(trace.write_truncated)
                    limit = int(limits.get("TAP_MAX_BUFFERED_RX_BYTES", 1024))
                    check_buffered_direction(self, trace, "read", headers + body, limit)

    # --- against a recording server: exact bytes both ways ---------------

    def test_exact_bytes_default_limit(self):
        routes = {"/small": SMALL, "/medium": MEDIUM, "/large": LARGE}
        with RecordingHTTPServer(routes) as server:
            for path in routes:
                self.curl("-o", os.devnull, server.url(path))
            connections = server.wait_closed(len(routes))
        traces = self.traces()
        self.assertEqual(len(traces), len(routes), traces)
        self.assertEqual(sorted(t.local[1] for t in traces), sorted(c.peer[1] for c in connections))
        for trace in traces:
            connection = server.connection_from(trace.local[1])
            self.check_client_trace(trace, connection, port=server.port)
            check_buffered_direction(self, trace, "write", bytes(connection.received))
            check_buffered_direction(self, trace, "read", bytes(connection.sent))
        truncated = [t for t in traces if t.read_truncated]
        self.assertEqual(len(truncated), 2)  # medium and large

    def test_exact_bytes_raised_limit(self):
        routes = {"/medium": MEDIUM, "/large": LARGE}
        with RecordingHTTPServer(routes) as server:
            for path in routes:
                done = self.curl(server.url(path),
                                 env=shim_env(self.prefix, TAP_MAX_BUFFERED_RX_BYTES=BIG_LIMIT))
                self.assertEqual(done.stdout, routes[path])
            server.wait_closed(len(routes))
        traces = self.traces()
        self.assertEqual(len(traces), 2, traces)
        for trace in traces:
            connection = server.connection_from(trace.local[1])
            self.check_client_trace(trace, connection, port=server.port)
            self.assertEqual(trace.sent(), bytes(connection.received))
            self.assertEqual(trace.received(), bytes(connection.sent))
            self.assertFalse(trace.read_truncated)
            self.assertFalse(trace.write_truncated)
            self.assertFalse(any(e.truncated for e in trace.events))

    def test_response_of_exactly_the_budget(self):
        # Headers + body are exactly 1024 bytes: everything is kept, and the
        # EOF that follows (a 0-byte read) is no event, so nothing is cut.
        body = next(b"x" * n for n in range(1024)
                    if len(RecordingHTTPServer.response_for_body(b"x" * n)) == 1024)
        response = RecordingHTTPServer.response_for_body(body)
        self.assertEqual(len(response), 1024)
        with RecordingHTTPServer({"/exact": body}) as server:
            self.curl("-o", os.devnull, server.url("/exact"))
            server.wait_closed(1)
        [trace] = self.traces()
        connection = server.connections[0]
        self.assertEqual(bytes(connection.sent), response)
        self.assertEqual(trace.received(), response)
        self.assertFalse(trace.read_truncated)
        self.assertFalse(any(e.truncated for e in trace.events))

    def test_ipv6(self):
        with RecordingHTTPServer({"/v6": SMALL}, host="::1") as server:
            done = self.curl("-g", f"http://[::1]:{server.port}/v6")
            self.assertEqual(done.stdout, SMALL)
            server.wait_closed(1)
        [trace] = self.traces()
        connection = server.connections[0]
        self.check_client_trace(trace, connection, host="::1", port=server.port)
        self.assertEqual(trace.sent(), bytes(connection.received))
        self.assertEqual(trace.received(), bytes(connection.sent))

    def test_ipv6_http_server(self):
        root = os.path.join(self.dir, "www6")
        os.mkdir(root)
        with open(os.path.join(root, "f.txt"), "wb") as f:
            f.write(SMALL)
        port = free_port(family=socket.AF_INET6)
        with server_process(http_server_command(root, port, host="::1"), port, host="::1"):
            headers, body = self.fetch_to_files(f"http://[::1]:{port}/f.txt", shim_env(self.prefix))
        self.assertEqual(body, SMALL)
        [trace] = self.traces()
        self.assertEqual(trace.remote, ("::1", port))
        self.assertEqual(trace.local[0], "::1")
        self.assertNotIn(trace.local[1], (0, port))
        self.assertEqual(trace.received(), headers + body)

    def test_keep_alive_two_requests_one_trace(self):
        with RecordingHTTPServer({"/one": SMALL, "/two": SMALL[::-1]}) as server:
            done = self.curl(server.url("/one"), server.url("/two"))
            self.assertEqual(done.stdout, SMALL + SMALL[::-1])
            connections = server.wait_closed(1)
        self.assertEqual(len(connections), 1, "curl should reuse its connection")
        connection = connections[0]
        self.assertEqual(len(connection.requests), 2)
        [trace] = self.traces()
        self.check_client_trace(trace, connection, port=server.port)
        self.assertEqual(trace.sent(), bytes(connection.received))
        self.assertEqual(trace.received(), bytes(connection.sent))
        self.assertEqual(kinds(trace), ["write", "read", "write", "read"])
        self.assertFalse(trace.read_truncated or trace.write_truncated)


if __name__ == "__main__":
    unittest.main()
