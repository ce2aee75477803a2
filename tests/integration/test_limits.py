"""Envoy's buffered limits (envoy-tap-format.md §3.2) on real traffic: a
Python client under the shim talks to an untapped echo server, with every
send and receive size chosen by the test so the event boundaries are known
(on a blocking socket, send() queues everything and recv(MSG_WAITALL)
returns exactly n)."""
import json
import subprocess
import textwrap
import unittest

from servers import (PATTERN, PLAN_CLIENT as CLIENT, PYTHON, DEFAULT_LIMIT, EchoServer,
                     RecordingHTTPServer, check_buffered_direction)
from tapshim_testlib import TapTestCase, load_traces, shim_env

def sizes(trace, kind):
    return [(len(e.data), e.truncated) for e in trace.events if e.kind == kind]


class LimitsTest(TapTestCase):

    def run_plan(self, plan, **limits):
        with EchoServer() as server:
            done = subprocess.run([PYTHON, "-c", CLIENT, str(server.port), json.dumps(plan)],
                                  env=shim_env(self.prefix, **limits), capture_output=True,
                                  timeout=120)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stderr, b"")
            [connection] = server.wait_closed(1)
        counts = json.loads(done.stdout)
        self.assertEqual(bytes(connection.received), PATTERN[:counts["sent"]])
        self.assertEqual(bytes(connection.sent), PATTERN[:counts["received"]])
        [trace] = self.traces()
        self.assertEqual(trace.remote, ("127.0.0.1", server.port))
        self.assertEqual(trace.local, ("127.0.0.1", connection.peer[1]))
        return trace, bytes(connection.received), bytes(connection.sent)

    def test_default_limit_cuts_both_directions(self):
        trace, sent, received = self.run_plan(
            [["send", [1000] * 5], ["shut"], ["recv", [700] * 7 + [100]]])
        self.assertEqual(len(sent), 5000)
        check_buffered_direction(self, trace, "write", sent, DEFAULT_LIMIT)
        check_buffered_direction(self, trace, "read", received, DEFAULT_LIMIT)
        self.assertEqual(sizes(trace, "write"), [(1000, False), (24, True)])
        self.assertEqual(sizes(trace, "read"), [(700, False), (324, True)])
        self.assertTrue(trace.write_truncated)
        self.assertTrue(trace.read_truncated)
        self.assertEqual(trace.sent(), PATTERN[:1024])
        self.assertEqual(trace.received(), PATTERN[:1024])

    def test_exact_budget_at_the_default_limit(self):
        trace, sent, received = self.run_plan(
            [["send", [1024, 1024, 10]], ["shut"], ["recv", [1024, 1024]], ["drain", 4096]])
        # The budget ends exactly with the first event: the next one is kept
        # empty and truncated, the one after is dropped.
        self.assertEqual(sizes(trace, "write"), [(1024, False), (0, True)])
        self.assertEqual(sizes(trace, "read"), [(1024, False), (0, True)])
        for event in trace.events:
            if event.truncated:
                self.assertTrue(event.has_body, "the empty event's body is set (encodes as 0a 00)")
        self.assertTrue(trace.write_truncated and trace.read_truncated)
        check_buffered_direction(self, trace, "write", sent)
        check_buffered_direction(self, trace, "read", received)

    def test_exact_budget_with_a_raised_tx_limit(self):
        trace, sent, received = self.run_plan(
            [["send", [5000, 100, 100]], ["shut"], ["recv", [5200]], ["drain", 4096]],
            TAP_MAX_BUFFERED_TX_BYTES=5000, TAP_MAX_BUFFERED_RX_BYTES=5200)
        self.assertEqual(sizes(trace, "write"), [(5000, False), (0, True)])
        self.assertTrue(trace.write_truncated)
        self.assertEqual(trace.sent(), PATTERN[:5000])
        # Reads used their budget exactly, then came EOF: a 0-byte read is
        # no event, so nothing was cut.
        self.assertEqual(sizes(trace, "read"), [(5200, False)])
        self.assertFalse(trace.read_truncated)
        self.assertEqual(trace.received(), received)

    def test_directions_are_independent(self):
        trace, sent, received = self.run_plan(
            [["send", [2000]], ["recv", [2000]], ["send", [2000]], ["recv", [2000]], ["shut"],
             ["drain", 4096]],
            TAP_MAX_BUFFERED_TX_BYTES=1 << 20)
        self.assertEqual([(e.kind, len(e.data), e.truncated) for e in trace.events],
                         [("write", 2000, False), ("read", 1024, True), ("write", 2000, False)])
        self.assertTrue(trace.read_truncated)
        self.assertFalse(trace.write_truncated)
        self.assertEqual(trace.sent(), sent)

    def test_raised_limits_keep_everything(self):
        trace, sent, received = self.run_plan(
            [["send_in_thread", [1000] * 5 + [4096] * 73], ["drain", 8192]],
            TAP_MAX_BUFFERED_TX_BYTES=1 << 20, TAP_MAX_BUFFERED_RX_BYTES=1 << 20)
        self.assertEqual(len(sent), 5000 + 4096 * 73)
        self.assertEqual(trace.sent(), sent)
        self.assertEqual(trace.received(), received)
        self.assertEqual(received, sent)
        self.assertFalse(trace.read_truncated or trace.write_truncated)
        self.assertFalse(any(e.truncated for e in trace.events))

    def test_zero_limits_keep_no_bytes(self):
        trace, sent, received = self.run_plan(
            [["send", [10, 10]], ["shut"], ["recv", [20]], ["drain", 64]],
            TAP_MAX_BUFFERED_TX_BYTES=0, TAP_MAX_BUFFERED_RX_BYTES=0)
        self.assertEqual(sizes(trace, "write"), [(0, True)])
        self.assertEqual(sizes(trace, "read"), [(0, True)])
        self.assertTrue(trace.read_truncated and trace.write_truncated)

    def test_http_post_of_5000_bytes(self):
        """The same limits on an HTTP exchange: a POST of 5000 bytes echoed back."""
        body = bytes(range(250)) * 20
        script = textwrap.dedent("""
            import sys, urllib.request
            port = int(sys.argv[1])
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            request = urllib.request.Request(f"http://127.0.0.1:{port}/echo", data=sys.stdin.buffer.read(),
                                             headers={"Connection": "close"})
            with opener.open(request, timeout=60) as response:
                sys.stdout.buffer.write(response.read())
        """)
        for limits in ({}, {"TAP_MAX_BUFFERED_TX_BYTES": 65536, "TAP_MAX_BUFFERED_RX_BYTES": 65536}):
            with self.subTest(limits=limits), RecordingHTTPServer() as server:
                prefix = f"{self.prefix}{len(limits)}"
                done = subprocess.run([PYTHON, "-c", script, str(server.port)], input=body,
                                      env=shim_env(prefix, **limits), capture_output=True, timeout=120)
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertEqual(done.stdout, body)
                [connection] = server.wait_closed(1)
                [trace] = load_traces(prefix)
                limit = int(limits.get("TAP_MAX_BUFFERED_TX_BYTES", DEFAULT_LIMIT))
                self.assertGreater(len(connection.received), 5000)
                check_buffered_direction(self, trace, "write", bytes(connection.received), limit)
                check_buffered_direction(self, trace, "read", bytes(connection.sent), limit)
                self.assertEqual(trace.write_truncated, not limits)
                self.assertEqual(trace.read_truncated, not limits)


if __name__ == "__main__":
    unittest.main()
