"""A forking server under the shim (Python's socketserver.ForkingTCPServer,
which serves each accepted connection in a child it forks and closes its
own copy, as socat fork, postgres and inetd-style servers do): buffered and
streamed, each connection has exactly one trace, the child's, with its
bytes and the origin INBOUND, so that TAP_MATCH=inbound taps it too."""
import os
import socket
import textwrap
import unittest

from servers import PYTHON, server_process
from tapshim_testlib import TapTestCase, free_port, shim_env

SERVER = textwrap.dedent("""
    import socketserver, sys

    class Echo(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline()
            self.wfile.write(b"echo: " + line)

    socketserver.ForkingTCPServer.allow_reuse_address = True
    with socketserver.ForkingTCPServer(("127.0.0.1", int(sys.argv[1])), Echo) as server:
        server.serve_forever()
""")

CLIENTS = 3


class ForkingServerTest(TapTestCase):

    def run_server(self, **variables):
        """Runs the server under the shim, talks to it from CLIENTS
        untapped clients; returns its port, {n: (request, reply)} and the
        server's pid."""
        port = free_port()
        script = os.path.join(self.dir, "forking_server.py")
        with open(script, "w") as f:
            f.write(SERVER)
        exchanges = {}
        with server_process([PYTHON, script, str(port)], port, env=shim_env(self.prefix, **variables),
                            log_path=os.path.join(self.dir, "server.log")) as server:
            for n in range(CLIENTS):
                request = f"hello {n}\n".encode()
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    sock.sendall(request)
                    reply = bytearray()
                    while chunk := sock.recv(4096):
                        reply += chunk
                exchanges[n] = (request, bytes(reply))
            server_pid = server.pid
        return port, exchanges, server_pid

    def check_one_trace_per_connection(self, **variables):
        port, exchanges, server_pid = self.run_server(**variables)
        traces = self.traces_from_port(port)
        # The readiness probe moved no byte: neither process has a trace of it.
        self.assertEqual(len(traces), CLIENTS, traces)
        self.assertEqual(len(self.traces()), CLIENTS)
        by_request = {t.received(): t for t in traces}
        for request, reply in exchanges.values():
            self.assertEqual(reply, b"echo: " + request)
            trace = by_request[request]
            self.assertEqual(trace.sent(), reply)
            self.assertEqual(trace.origin, "INBOUND", trace)
            self.assertNotEqual(trace.pid, server_pid, "the child's trace, not the parent's")
            self.assertEqual(trace.local[1], port)

    def test_buffered(self):
        self.check_one_trace_per_connection()

    def test_streamed(self):
        self.check_one_trace_per_connection(TAP_STREAMING="1")

    def test_streamed_batched(self):
        self.check_one_trace_per_connection(TAP_STREAMING="1", TAP_MIN_STREAMED_SENT_BYTES="4096")

    def test_match_inbound_taps_the_childrens_connections(self):
        self.check_one_trace_per_connection(TAP_MATCH="inbound")

    def test_match_outbound_taps_none_of_them(self):
        port, _, _ = self.run_server(TAP_MATCH="outbound")
        self.assertEqual(self.traces_from_port(port), [])


if __name__ == "__main__":
    unittest.main()
