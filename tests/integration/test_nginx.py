"""nginx (master + 2 workers) under the shim, with untapped clients."""
import glob
import os
import re
import signal
import socket
import stat
import subprocess
import unittest

from servers import (check_buffered_direction, children_of, nginx_command, read_http_response,
                     render_nginx, server_process, wait_until)
from tapshim_testlib import TapTestCase, free_port, load_traces, shim_env

INDEX = b"<html><body>nginx under tapshim</body></html>\n"
BIG = bytes((i * 13) % 256 for i in range(5000))


class NginxTest(TapTestCase):

    def setUp(self):
        super().setUp()
        self.nginx_dir = os.path.join(self.dir, "nginx")
        self.root = os.path.join(self.nginx_dir, "www")
        os.makedirs(self.root)
        for name, content in (("index.html", INDEX), ("big.bin", BIG)):
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(content)
        self.port = free_port()
        self.conf = render_nginx(self.nginx_dir, self.port, self.root)

    def raw_exchange(self, request):
        """One request on its own connection, read to EOF: (port, response)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            client_port = sock.getsockname()[1]
            sock.sendall(request)
            response = bytearray()
            while chunk := sock.recv(65536):
                response += chunk
        return client_port, bytes(response)

    def test_workers_trace_accepted_connections(self):
        host = f"127.0.0.1:{self.port}"
        requests = [
            f"GET /index.html HTTP/1.0\r\nHost: {host}\r\n\r\n".encode(),
            f"GET /big.bin HTTP/1.0\r\nHost: {host}\r\nUser-Agent: raw-client\r\n\r\n".encode(),
            f"GET /nothing-here HTTP/1.0\r\nHost: {host}\r\nX-Pad: {'q' * 2000}\r\n\r\n".encode(),
        ]
        keep_alive_request = f"GET /index.html HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        raw = {}
        curl_ports = []
        log = os.path.join(self.dir, "nginx.out")
        with server_process(nginx_command(self.nginx_dir, self.conf), self.port,
                            env=shim_env(self.prefix), cwd=self.nginx_dir, log_path=log,
                            stop_signal=signal.SIGQUIT, timeout=60) as nginx:
            workers = wait_until(lambda: children_of(nginx.pid) if len(children_of(nginx.pid)) == 2
                                 else None, 30, "two nginx workers")
            for request in requests:
                client_port, response = self.raw_exchange(request)
                raw[client_port] = (request, response)
            for _ in range(3):
                done = subprocess.run(
                    ["curl", "-s", "--noproxy", "*", "-o", os.devnull, "-w", "%{local_port}",
                     f"http://{host}/index.html"], capture_output=True, timeout=60, check=True)
                curl_ports.append(int(done.stdout))
            closed = len(requests) + len(curl_ports) + 1  # + the readiness probe
            wait_until(lambda: len(self.trace_files()) >= closed, 60, f"{closed} trace files")
            # A keep-alive connection still open when nginx is told to stop.
            keep_alive = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            self.addCleanup(keep_alive.close)
            keep_alive_port = keep_alive.getsockname()[1]
            keep_alive.sendall(keep_alive_request)
            keep_alive_response = read_http_response(keep_alive)
            self.assertTrue(keep_alive_response.endswith(INDEX), keep_alive_response)
            self.assertEqual(len(self.trace_files()), closed)
        with open(log, "rb") as output:
            self.assertEqual(nginx.returncode, 0, output.read())
        keep_alive.close()

        traces = self.traces()
        expected_ports = sorted(list(raw) + curl_ports + [nginx.probe_port, keep_alive_port])
        self.assertEqual(sorted(t.remote[1] for t in traces), expected_ports, traces)
        for trace in traces:
            self.assertIn(trace.pid, workers)
            self.assertNotEqual(trace.pid, nginx.pid)
            self.assertEqual(trace.process_name, "nginx")
            self.assertEqual(trace.local, ("127.0.0.1", self.port))
            self.assertEqual(trace.remote[0], "127.0.0.1")
            # File name, place and mode.
            self.assertEqual(os.path.dirname(trace.path), self.dir)
            self.assertRegex(os.path.basename(trace.path), r"^trace_[0-9]+\.pb$")
            self.assertEqual(os.path.basename(trace.path), f"trace_{trace.trace_id}.pb")
            self.assertEqual(stat.S_IMODE(os.stat(trace.path).st_mode), 0o600)
        self.assertEqual(len({t.trace_id for t in traces}), len(traces))
        by_port = {t.remote[1]: t for t in traces}
        if os.environ.get("TAPSHIM_TEST_VERBOSE"):
            print(workers, nginx.pid, *traces, sep="\n")

        self.assertEqual(by_port[nginx.probe_port].events, [])
        for client_port, (request, response) in raw.items():
            trace = by_port[client_port]
            check_buffered_direction(self, trace, "read", request)
            check_buffered_direction(self, trace, "write", response)
            self.assertTrue(trace.sent().startswith(response.split(b"\r\n", 1)[0] + b"\r\n"))
        statuses = [by_port[p].sent().split(b"\r\n", 1)[0] for p in raw]
        self.assertEqual(statuses, [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK", b"HTTP/1.1 404 Not Found"])
        for client_port in curl_ports:
            trace = by_port[client_port]
            self.assertTrue(trace.received().startswith(b"GET /index.html HTTP/1.1\r\n"))
            self.assertTrue(trace.received().endswith(b"\r\n\r\n"))
            self.assertTrue(trace.sent().startswith(b"HTTP/1.1 200 OK\r\n"))
            self.assertTrue(trace.sent().endswith(INDEX))
        trace = by_port[keep_alive_port]
        self.assertEqual(trace.received(), keep_alive_request)
        self.assertEqual(trace.sent(), keep_alive_response)

        # Nothing written outside the prefix: nginx moves its environment
        # for its process title; a lost prefix gives "_<id>.pb" files.
        stray = [p for p in glob.glob(os.path.join(self.dir, "**", "*.pb"), recursive=True)
                 if not re.fullmatch(r"trace_[0-9]+\.pb", os.path.relpath(p, self.dir))]
        stray += glob.glob("/_*.pb")
        self.assertEqual(stray, [])
        self.assertEqual(set(os.listdir(self.dir)),
                         {"nginx", "nginx.out"} | {os.path.basename(t.path) for t in traces})

    def test_sendfile_body_is_recorded(self):
        """With `sendfile on` (Debian's stock nginx.conf) the body leaves
        through sendfile(2); the trace still holds its bytes, under the same
        budget as write()."""
        self.conf = render_nginx(self.nginx_dir, self.port, self.root, sendfile=True)
        for limit in (1024, 65536):
            with self.subTest(limit=limit):
                prefix = f"{self.prefix}-{limit}"
                with server_process(nginx_command(self.nginx_dir, self.conf), self.port,
                                    env=shim_env(prefix, TAP_MAX_BUFFERED_TX_BYTES=limit),
                                    cwd=self.nginx_dir, log_path=os.path.join(self.dir, "nginx.out"),
                                    stop_signal=signal.SIGQUIT, timeout=60) as nginx:
                    request = f"GET /big.bin HTTP/1.0\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode()
                    client_port, response = self.raw_exchange(request)
                self.assertEqual(nginx.returncode, 0)
                self.assertTrue(response.endswith(BIG))
                [trace] = [t for t in load_traces(prefix) if t.remote[1] == client_port]
                self.assertEqual(trace.received(), request)
                check_buffered_direction(self, trace, "write", response, limit)

if __name__ == "__main__":
    unittest.main()
