"""Python programs under the shim: http.server as a server (its accepted
connections), and Python clients (urllib, raw sockets) against untapped
servers."""
import glob
import os
import socket
import subprocess
import textwrap
import unittest

from servers import (PYTHON, EchoServer, RecordingHTTPServer, check_buffered_direction, http_server_command,
                     server_process, wait_until)
from tapshim_testlib import TapTestCase, free_port, shim_env

PAGE = b"<html>served by a tapped http.server</html>\n"
BIG = bytes(range(256)) * 20  # 5120 bytes: its response is cut at 1024


class TappedHTTPServerTest(TapTestCase):

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.dir, "www")
        os.mkdir(self.root)
        for name, content in (("page.html", PAGE), ("big.bin", BIG)):
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(content)

    def raw_client(self, host, port, request):
        """Sends `request`, reads the response to EOF; returns
        (client port, response bytes)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(60)
            sock.connect((host, port))
            client_port = sock.getsockname()[1]
            sock.sendall(request)
            response = bytearray()
            while chunk := sock.recv(65536):
                response += chunk
        return client_port, bytes(response)

    def run_server_with_clients(self, host):
        port = free_port(socket.AF_INET6 if ":" in host else socket.AF_INET)
        host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        requests = [
            f"GET /page.html HTTP/1.0\r\nHost: {host_header}\r\n\r\n".encode(),
            f"GET /big.bin HTTP/1.0\r\nHost: {host_header}\r\nUser-Agent: raw\r\n\r\n".encode(),
            f"GET /missing HTTP/1.0\r\nHost: {host_header}\r\nX-Pad: {'p' * 1500}\r\n\r\n".encode(),
        ]
        raw = {}
        curl_ports = []
        with server_process(http_server_command(self.root, port, host), port, host=host,
                            env=shim_env(self.prefix),
                            log_path=os.path.join(self.dir, "server.log")) as server:
            for request in requests:
                client_port, response = self.raw_client(host, port, request)
                raw[client_port] = (request, response)
            url_host = f"[{host}]" if ":" in host else host
            for _ in range(3):
                done = subprocess.run(
                    ["curl", "-s", "-g", "--noproxy", "*", "-o", os.devnull, "-w", "%{local_port}",
                     f"http://{url_host}:{port}/page.html"],
                    capture_output=True, timeout=60, check=True)
                curl_ports.append(int(done.stdout))
            # Each trace is written when the server closes its connection.
            expected = len(requests) + len(curl_ports) + 1  # + the readiness probe
            wait_until(lambda: len(glob.glob(self.prefix + "_*.pb")) >= expected, 60,
                       f"{expected} trace files")
        self.assertEqual(server.returncode, 0)
        return port, server, raw, curl_ports

    def check_server_traces(self, host):
        port, server, raw, curl_ports = self.run_server_with_clients(host)
        traces = self.traces()
        # One trace per accepted connection, none for the listening socket.
        # The readiness probe connected and closed without data: its trace
        # has no events.
        self.assertEqual(len(traces), len(raw) + len(curl_ports) + 1, traces)
        self.assertEqual(sorted(t.remote[1] for t in traces),
                         sorted(list(raw) + curl_ports + [server.probe_port]))
        [probe] = [t for t in traces if t.remote[1] == server.probe_port]
        self.assertEqual(probe.events, [])
        self.assertEqual(probe.local, (host, port))
        traces.remove(probe)
        for trace in traces:
            self.assertEqual(trace.local, (host, port))
            self.assertEqual(trace.remote[0], host)
            self.assertEqual(trace.pid, server.pid)
            self.assertTrue(trace.process_name.startswith("python"), trace.process_name)
            self.assertTrue(trace.sent().startswith(b"HTTP/1.0 "), trace.sent()[:40])
            client_port = trace.remote[1]
            if client_port in raw:
                request, response = raw[client_port]
                check_buffered_direction(self, trace, "read", request)
                check_buffered_direction(self, trace, "write", response)
            else:
                self.assertTrue(trace.received().startswith(b"GET /page.html HTTP/1.1\r\n"))
                self.assertTrue(trace.sent().startswith(b"HTTP/1.0 200 OK\r\n"))
                self.assertTrue(trace.sent().endswith(PAGE))
        by_port = {t.remote[1]: t for t in traces}
        statuses = [by_port[p].sent().split(b"\r\n", 1)[0] for p in raw]
        self.assertEqual(statuses, [b"HTTP/1.0 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.0 404 File not found"])
        self.assertTrue(by_port[list(raw)[1]].write_truncated)
        self.assertTrue(by_port[list(raw)[2]].read_truncated)

    def test_ipv4(self):
        self.check_server_traces("127.0.0.1")

    def test_ipv6(self):
        self.check_server_traces("::1")


CLIENT_SCRIPT = textwrap.dedent("""
    import socket, sys, urllib.request
    port = int(sys.argv[1])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/urllib", timeout=60) as response:
        sys.stdout.buffer.write(response.read())
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(b"GET /raw HTTP/1.1\\r\\n")
    sock.sendmsg([b"Host: 127.0.0.1\\r\\n", b"Connection: close\\r\\n\\r\\n"])
    first = bytearray(10)
    count = sock.recv_into(first)
    rest = sock.makefile("rb").read()
    sys.stdout.buffer.write(bytes(first[:count]) + rest)
    sock.close()
""")


class PythonClientTest(TapTestCase):

    def test_urllib_and_raw_socket(self):
        routes = {"/urllib": b"answer to urllib\n" * 3, "/raw": bytes(range(256)) * 8}
        with RecordingHTTPServer(routes) as server:
            done = subprocess.run([PYTHON, "-c", CLIENT_SCRIPT, str(server.port)],
                                  env=shim_env(self.prefix, TAP_MAX_BUFFERED_RX_BYTES=65536),
                                  capture_output=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            connections = server.wait_closed(2)
        self.assertTrue(done.stdout.startswith(routes["/urllib"]))
        self.assertTrue(done.stdout.endswith(routes["/raw"]))
        traces = self.traces()
        self.assertEqual(len(traces), 2, traces)
        self.assertEqual(sorted(t.local[1] for t in traces), sorted(c.peer[1] for c in connections))
        for trace in traces:
            connection = server.connection_from(trace.local[1])
            self.assertEqual(trace.remote, ("127.0.0.1", server.port))
            self.assertEqual(trace.local, ("127.0.0.1", connection.peer[1]))
            self.assertTrue(trace.process_name.startswith("python"), trace.process_name)
            self.assertEqual(trace.sent(), bytes(connection.received))
            self.assertEqual(trace.received(), bytes(connection.sent))
            self.assertFalse(trace.read_truncated or trace.write_truncated)
        raw = server.connection_from([t for t in traces if b"/raw" in t.sent()][0].local[1])
        self.assertEqual(bytes(raw.received),
                         b"GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")

    def test_socket_sendfile(self):
        payload = os.urandom(3000)
        path = os.path.join(self.dir, "payload")
        with open(path, "wb") as f:
            f.write(payload)
        script = textwrap.dedent("""
            import socket, sys
            sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
            sock.sendall(b"head:")
            with open(sys.argv[2], "rb") as f:
                assert sock.sendfile(f, offset=100) == 2900
            sock.shutdown(socket.SHUT_WR)
            sys.stdout.buffer.write(sock.makefile("rb").read())
            sock.close()
        """)
        with EchoServer() as server:
            done = subprocess.run([PYTHON, "-c", script, str(server.port), path],
                                  env=shim_env(self.prefix, TAP_MAX_BUFFERED_TX_BYTES=65536,
                                               TAP_MAX_BUFFERED_RX_BYTES=65536),
                                  capture_output=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            [connection] = server.wait_closed(1)
        expected = b"head:" + payload[100:]
        self.assertEqual(bytes(connection.received), expected)
        self.assertEqual(done.stdout, expected)
        [trace] = self.traces()
        self.assertEqual(trace.sent(), expected)
        self.assertEqual(trace.received(), expected)


FORKING_SERVER = textwrap.dedent("""
    import socketserver, sys
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"echo:" + self.rfile.readline())
    class Server(socketserver.ForkingTCPServer):
        allow_reuse_address = True
    with Server(("127.0.0.1", int(sys.argv[1])), Handler) as server:
        print(server.server_address[1], flush=True)
        for _ in range(int(sys.argv[2])):
            server.handle_request()
""")


class ForkingServerTest(TapTestCase):

    def test_one_trace_per_connection_handled_in_a_child(self):
        """The accepting parent closes its copy right after fork without
        recording anything: the child's trace is the connection's only one."""
        count = 2
        server = subprocess.Popen([PYTHON, "-c", FORKING_SERVER, "0", str(count)],
                                  env=shim_env(self.prefix), stdout=subprocess.PIPE)
        self.addCleanup(server.kill)
        port = int(server.stdout.readline())
        ports = []
        for n in range(count):
            with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                ports.append(sock.getsockname()[1])
                sock.sendall(b"line %d\n" % n)
                self.assertEqual(sock.makefile("rb").read(), b"echo:line %d\n" % n)
        self.assertEqual(server.wait(timeout=60), 0)
        traces = self.traces()
        for trace in traces:
            self.assertEqual(trace.local, ("127.0.0.1", port))
        # Every connection is served: a trace with its bytes exists.
        served = {t.remote[1]: t for t in traces if t.events}
        self.assertEqual(sorted(served), sorted(ports))
        for n, client_port in enumerate(ports):
            self.assertEqual(served[client_port].received(), b"line %d\n" % n)
            self.assertEqual(served[client_port].sent(), b"echo:line %d\n" % n)
        # One trace per connection.
        self.assertEqual(len(traces), count, traces)


if __name__ == "__main__":
    unittest.main()
