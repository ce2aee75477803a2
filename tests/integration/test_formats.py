"""Every output format in every mode (buffered, streamed per event, streamed
in batches) on real traffic: a Python client under the shim talks to an
untapped echo server with known send and receive sizes, and the decoded
traces (libprotobuf, through trace_to_json) must hold exactly Envoy's
events, limits, seq_num and closed rules (envoy-tap-format.md 3.2-3.4)."""
import json
import os
import subprocess
import textwrap
import unittest

from servers import PATTERN, PLAN_CLIENT, PYTHON, EchoServer, RecordingHTTPServer
from tapshim_testlib import TapTestCase, shim_env

FORMATS = {
    "proto_binary": ".pb",
    "proto_binary_length_delimited": ".pb_length_delimited",
    "proto_text": ".pb_text",
    "json_body_as_bytes": ".json",
    "json_body_as_string": ".json",
}

# Three writes, a half-close, three reads of the echo.
PLAN = [["send", [300, 2000, 50]], ["shut"], ["recv", [300, 2000, 50]], ["drain", 4096]]
SIZES = [300, 2000, 50]
TOTAL = sum(SIZES)


def shape(trace):
    return [(e.kind, len(e.data), e.truncated) for e in trace.events]


class FormatsTest(TapTestCase):

    def run_plan(self, **variables):
        with EchoServer() as server:
            done = subprocess.run([PYTHON, "-c", PLAN_CLIENT, str(server.port), json.dumps(PLAN)],
                                  env=shim_env(self.prefix, **variables), capture_output=True,
                                  timeout=120)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stderr, b"")
            [connection] = server.wait_closed(1)
        self.assertEqual(bytes(connection.received), PATTERN[:TOTAL])
        [trace] = self.traces()
        self.assertEqual(trace.remote, ("127.0.0.1", server.port))
        self.assertEqual(trace.local, ("127.0.0.1", connection.peer[1]))
        self.assertTrue(trace.path.endswith(FORMATS[variables["TAP_FORMAT"]]), trace.path)
        self.assertEqual(os.stat(trace.path).st_mode & 0o777, 0o600)
        return trace

    def check_data(self, trace, limit_per_event=None):
        """Each direction's events hold the stream's bytes in order, each
        cut to `limit_per_event` when given."""
        for kind in ("write", "read"):
            offset = 0
            for event in (e for e in trace.events if e.kind == kind):
                size = SIZES[[e for e in trace.events if e.kind == kind].index(event)]
                kept = size if limit_per_event is None else min(size, limit_per_event)
                self.assertEqual(event.data, PATTERN[offset:offset + kept], (kind, offset))
                offset += size

    def test_buffered_in_every_format(self):
        for name in FORMATS:
            with self.subTest(format=name):
                self.setUp()
                trace = self.run_plan(TAP_FORMAT=name)
                self.assertFalse(trace.streamed)
                self.assertEqual(shape(trace), [("write", 300, False), ("write", 724, True),
                                                ("read", 300, False), ("read", 724, True)])
                self.assertTrue(trace.read_truncated and trace.write_truncated)
                self.assertEqual(trace.sent(), PATTERN[:1024])
                self.assertEqual(trace.received(), PATTERN[:1024])
                self.assertTrue(all(e.seq_num == 0 for e in trace.events))
                self.assertFalse(any(e.as_string for e in trace.events))  # binary data stays bytes

    def test_streamed_per_event_in_every_format(self):
        for name in FORMATS:
            with self.subTest(format=name):
                self.setUp()
                trace = self.run_plan(TAP_FORMAT=name, TAP_STREAMING=1)
                self.assertTrue(trace.streamed)
                # A first segment with the connection, then one per event;
                # each event cut to the 1 KiB limit on its own.
                self.assertEqual(trace.segments, ["connection"] + ["event"] * 7)
                self.assertEqual(shape(trace), [("write", 300, False), ("write", 1024, True),
                                                ("write", 50, False), ("read", 300, False),
                                                ("read", 1024, True), ("read", 50, False),
                                                ("closed", 0, False)])
                self.check_data(trace, limit_per_event=1024)
                # seq_num: one counter from 1, advanced by each call's full
                # size; the closed event takes the counter plus one.
                self.assertEqual([e.seq_num for e in trace.events],
                                 [1, 301, 2301, 2351, 2651, 4651, 4702])
                self.assertTrue(all(e.connection is None for e in trace.events))

    def test_streamed_in_batches_in_every_format(self):
        for name in FORMATS:
            with self.subTest(format=name):
                self.setUp()
                trace = self.run_plan(TAP_FORMAT=name, TAP_STREAMING=1,
                                      TAP_MIN_STREAMED_SENT_BYTES=2000)
                # Whole events (limits ignored), sent when 2000 bytes are
                # waiting, and at the close with the closed event.
                self.assertEqual(trace.segments, ["connection", "events", "events", "events"])
                self.assertEqual(shape(trace), [("write", 300, False), ("write", 2000, False),
                                                ("write", 50, False), ("read", 300, False),
                                                ("read", 2000, False), ("read", 50, False),
                                                ("closed", 0, False)])
                self.check_data(trace)
                self.assertEqual(trace.events[-1].seq_num, TOTAL * 2 + 2)

    def test_connection_per_event(self):
        trace = self.run_plan(TAP_FORMAT="proto_binary_length_delimited", TAP_STREAMING=1,
                              TAP_CONNECTION_PER_EVENT=1)
        self.assertEqual(len(trace.events), 7)
        for event in trace.events:
            self.assertIsNotNone(event.connection)
            self.assertEqual(event.connection["remote_address"]["socket_address"]["port_value"],
                             trace.remote[1])

    def test_json_body_as_string_for_text_traffic(self):
        with RecordingHTTPServer(routes={"/hello": b"hello, world\n"}) as server:
            done = subprocess.run(["curl", "-s", server.url("/hello")], capture_output=True,
                                  env=shim_env(self.prefix, TAP_FORMAT="json_body_as_string"),
                                  timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            [connection] = server.wait_closed(1)
        [trace] = self.traces()
        self.assertTrue(all(e.as_string for e in trace.events if e.kind != "closed"))
        self.assertEqual(trace.sent(), bytes(connection.received))
        self.assertEqual(trace.received(), bytes(connection.sent))


    def test_streamed_events_survive_kill_9(self):
        """Each streamed message reaches the kernel before the call that
        made it returns: a program killed with SIGKILL right after a send
        (no exit path runs) still leaves that send in its trace."""
        script = textwrap.dedent("""
            import os, signal, socket, sys
            sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            sock.sendall(b"last words")
            assert sock.recv(100) == b"last words"
            os.kill(os.getpid(), signal.SIGKILL)
        """)
        with EchoServer() as server:
            done = subprocess.run([PYTHON, "-c", script, str(server.port)],
                                  env=shim_env(self.prefix, TAP_STREAMING=1), capture_output=True,
                                  timeout=60)
            self.assertEqual(done.returncode, -9, done.stderr)
        [trace] = self.traces()
        self.assertEqual(trace.sent(), b"last words")
        self.assertEqual(trace.received(), b"last words")
        self.assertNotIn("closed", [e.kind for e in trace.events])  # it never closed


if __name__ == "__main__":
    unittest.main()
