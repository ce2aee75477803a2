"""TAP_MAX_BUFFERED_TOTAL_BYTES on a real server: several connections held
open at once, each moving more than budget/connections, with per-connection
limits raised far above the budget. What all the process's buffered traces
keep adds up to the budget exactly, the events past it are cut with Envoy's
truncation flags, the program's output is what it is untapped, stderr gets
one line, and once those traces are written a new connection is recorded
whole again (the budget was given back)."""
import socket
import subprocess
import textwrap
import unittest

from servers import PYTHON
from tapshim_testlib import TapTestCase, shim_env

CONNECTIONS = 4
SIZE = 40_000  # each way, per connection
BUDGET = 65_536  # < CONNECTIONS * SIZE * 2; more than SIZE / CONNECTIONS
LIMIT = 1 << 20  # per connection and direction: never reached here
LAST = b"after the others were written"

# Accepts every connection before serving any, so that all their traces
# are buffered at once; echoes each; closes them; then serves one more.
SERVER = textwrap.dedent(f"""
    import socket
    def exactly(connection, size):
        data = b""
        while len(data) < size:
            data += connection.recv(size - len(data))
        return data
    server = socket.create_server(("127.0.0.1", 0))
    print(server.getsockname()[1], flush=True)
    held = [server.accept()[0] for _ in range({CONNECTIONS})]
    for connection in held:
        connection.sendall(exactly(connection, {SIZE}))
    for connection in held:
        connection.close()
    print("echoed", {CONNECTIONS}, "connections", flush=True)
    last = server.accept()[0]
    last.sendall(exactly(last, {len(LAST)}))
    last.close()
    print("done", flush=True)
""")


def payload(i):
    return bytes((i * 7 + n) % 251 for n in range(SIZE))


class BufferedTotalTest(TapTestCase):

    def run_server(self, env):
        server = subprocess.Popen([PYTHON, "-c", SERVER], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        try:
            port = int(server.stdout.readline())
            clients = [socket.create_connection(("127.0.0.1", port), timeout=30)
                       for _ in range(CONNECTIONS)]
            for i, client in enumerate(clients):
                client.sendall(payload(i))
            for i, client in enumerate(clients):
                echoed = b""
                while len(echoed) < SIZE:
                    echoed += client.recv(SIZE)
                self.assertEqual(echoed, payload(i))
                client.close()
            with socket.create_connection(("127.0.0.1", port), timeout=30) as last:
                last.sendall(LAST)
                self.assertEqual(last.recv(100), LAST)
            stdout, stderr = server.communicate(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        self.assertEqual(server.returncode, 0, stderr)
        return port, stdout, stderr.decode()

    def test_traces_are_cut_at_the_process_budget_and_given_back(self):
        _, untapped, _ = self.run_server(None)
        port, stdout, stderr = self.run_server(shim_env(
            self.prefix, TAP_MAX_BUFFERED_TOTAL_BYTES=BUDGET, TAP_MAX_BUFFERED_RX_BYTES=LIMIT,
            TAP_MAX_BUFFERED_TX_BYTES=LIMIT))
        self.assertEqual(stdout.split(b"\n")[1:], untapped.split(b"\n")[1:])  # but the port

        lines = [line for line in stderr.splitlines() if line.startswith("tapshim:")]
        self.assertEqual(lines, [
            f"tapshim: buffered traces hold TAP_MAX_BUFFERED_TOTAL_BYTES ({BUDGET} bytes): new "
            "events are cut (read_truncated/write_truncated) until traces are written"])

        traces = self.traces_from_port(port)
        self.assertEqual(len(traces), CONNECTIONS + 1, traces)
        [last] = [t for t in traces if t.received() == LAST]
        held = [t for t in traces if t is not last]
        self.assertEqual(last.sent(), LAST)
        self.assertFalse(last.read_truncated or last.write_truncated)

        kept = sum(len(e.data) for t in held for e in t.events)
        self.assertEqual(kept, BUDGET)
        cut = [t for t in held if t.read_truncated or t.write_truncated]
        self.assertTrue(cut)
        for trace in held:
            for direction, flag in (("read", trace.read_truncated),
                                    ("write", trace.write_truncated)):
                events = [e for e in trace.events if e.kind == direction]
                # A cut direction ends with its one truncated event; a whole
                # one holds every byte.
                if flag:
                    self.assertTrue(events[-1].truncated, trace)
                    self.assertFalse(any(e.truncated for e in events[:-1]), trace)
                else:
                    self.assertEqual(sum(len(e.data) for e in events), SIZE, trace)


if __name__ == "__main__":
    unittest.main()
