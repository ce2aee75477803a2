"""tapshim-view on real traces: a Python client under the shim talks to an
untapped echo server, in every format and mode (buffered, streamed per
event, batched), with truncation at the limits and gaps (MSG_TRUNC). What
the viewer prints must equal what libprotobuf decodes from the same files
(trace_to_json, through tapshim_testlib)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from cli_testlib import PLAN_CLIENT, VIEW, require_tools, timestamp_ns, view
from servers import PYTHON, EchoServer
from tapshim_testlib import decode, require_artefacts, shim_env, trace_paths

FORMATS = ["proto_binary", "proto_binary_length_delimited", "proto_text", "json_body_as_bytes",
           "json_body_as_string"]
MODES = {
    "buffered": {},
    "streamed": {"TAP_STREAMING": 1},
    "batched": {"TAP_STREAMING": 1, "TAP_MIN_STREAMED_SENT_BYTES": 1000000},
}
TEXT = b'GET /x HTTP/1.1\r\nHost: "tapshim"\tviewer\r\n\r\n'
BINARY = bytes((i * 7 + 3) % 256 for i in range(2000))
# Text then binary, half-close, the echo read back: cut at the 1024-byte
# limits (buffered: the budget; streamed: per event).
PLAN = [["send", TEXT.hex()], ["send", BINARY.hex()], ["shut"],
        ["recv", len(TEXT) + len(BINARY)], ["drain"]]
# Bytes the client receives with MSG_TRUNC: the shim cannot see them (a gap).
GAP_PLAN = [["send", (b"g" * 100).hex()], ["shut"], ["recv", 10], ["trunc", 50], ["drain"]]


def expected_preview(data):
    """tapshim-view's JSON preview: the first 60 bytes, valid UTF-8 as is,
    any other byte as the code point of its value."""
    text = data[:60].decode("utf-8", errors="surrogateescape")
    return "".join(chr(ord(c) - 0xdc00) if 0xdc80 <= ord(c) <= 0xdcff else c for c in text)


def address(parsed):
    if parsed is None:
        return None
    if "pipe" in parsed:
        return ("pipe", parsed["pipe"])
    return (parsed["address"], parsed["port"])


class ViewerTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_artefacts()
        require_tools()
        cls.dir = tempfile.mkdtemp(prefix="tapshim-view-test-")
        cls.files = []
        for name in FORMATS:
            for mode, variables in MODES.items():
                for plan_name, plan, host in (("data", PLAN, "127.0.0.1"), ("gap", GAP_PLAN, "::1")):
                    prefix = os.path.join(cls.dir, f"{name}-{mode}-{plan_name}")
                    with EchoServer(host=host) as server:
                        done = subprocess.run(
                            [PYTHON, "-c", PLAN_CLIENT, host, str(server.port), json.dumps(plan)],
                            env=shim_env(prefix, TAP_FORMAT=name, **variables),
                            capture_output=True, timeout=120)
                        assert done.returncode == 0, done.stderr
                        server.wait_closed(1)
                    paths = trace_paths(prefix)
                    assert len(paths) == 1, (prefix, paths)
                    cls.files += paths
        cls.decoded = {(t.path, t.trace_id): t for t in decode(cls.files)}
        assert len(cls.decoded) == len(cls.files)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def view_json(self, *args):
        done = view("--json", *args)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, b"")
        return [json.loads(line) for line in done.stdout.decode().splitlines()]

    def check_direction(self, got, trace, kind, truncated_flag):
        events = [e for e in trace.events if e.kind == kind]
        self.assertEqual(got["bytes"], sum(len(e.data) for e in events))
        self.assertEqual(got["events"], len(events))
        self.assertEqual(got["cut_events"], sum(1 for e in events if e.truncated and e.data))
        self.assertEqual(got["gap_events"], sum(1 for e in events if e.truncated and not e.data))
        self.assertEqual(got["truncated"], truncated_flag or any(e.truncated for e in events))

    def test_the_corpus_has_what_the_viewer_must_count(self):
        # So that the comparisons below are not vacuous.
        traces = list(self.decoded.values())
        self.assertEqual(len(traces), len(FORMATS) * len(MODES) * 2)
        # Batched streaming ignores the limits, as Envoy's does.
        self.assertTrue(all(any(e.truncated and e.data for e in t.events) == ("-batched-" not in t.path)
                            for t in traces if "-data" in t.path))
        self.assertTrue(all(any(e.kind == "read" and e.truncated and not e.data for e in t.events)
                            for t in traces if "-gap" in t.path))
        self.assertTrue(any(t.streamed for t in traces) and not all(t.streamed for t in traces))

    def test_summary_equals_decoded_traces(self):
        lines = self.view_json(*self.files)
        self.assertEqual(len(lines), len(self.files))
        seen = set()
        for line in lines:
            key = (line["file"], int(line["trace_id"]))
            trace = self.decoded[key]
            seen.add(key)
            with self.subTest(file=os.path.basename(trace.path)):
                self.assertEqual(line["streamed"], trace.streamed)
                self.assertEqual(line["records"], len(trace.raw))
                self.assertEqual(address(line["local"]), trace.local)
                self.assertEqual(address(line["remote"]), trace.remote)
                self.assertEqual(line.get("pid", 0), trace.pid)
                self.assertEqual(line.get("process", ""), trace.process_name)
                self.check_direction(line["sent"], trace, "write", trace.write_truncated)
                self.check_direction(line["received"], trace, "read", trace.read_truncated)
                self.assertEqual(line["closed_events"],
                                 sum(1 for e in trace.events if e.kind == "closed"))
                times = [timestamp_ns(e.timestamp) for e in trace.events if e.timestamp]
                self.assertEqual(line["first_ns"], min(times))
                self.assertEqual(line["last_ns"], max(times))
                self.assertEqual(line["duration_ns"], max(times) - min(times))
                self.assertNotIn("events", line)
        self.assertEqual(len(seen), len(self.files))

    def test_sorted_by_first_timestamp(self):
        firsts = [line["first_ns"] for line in self.view_json(*reversed(self.files))]
        self.assertEqual(firsts, sorted(firsts))

    def test_events_lists_every_event(self):
        for line in self.view_json("--events", *self.files):
            trace = self.decoded[(line["file"], int(line["trace_id"]))]
            with self.subTest(file=os.path.basename(trace.path)):
                self.assertEqual(len(line["events"]), len(trace.events))
                for got, event in zip(line["events"], trace.events):
                    self.assertEqual(got["kind"], event.kind)
                    self.assertEqual(got["size"], len(event.data))
                    self.assertEqual(got["truncated"], event.truncated)
                    self.assertEqual(got["end_stream"], event.end_stream)
                    self.assertEqual(got["seq_num"], event.seq_num)
                    self.assertEqual(got["offset_ns"], timestamp_ns(event.timestamp) - line["first_ns"])
                    self.assertEqual(got["preview"], expected_preview(event.data))

    def test_text_output(self):
        done = view(*self.files)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.decode().splitlines()
        self.assertEqual(len(lines), len(self.files))
        for line in lines:
            path = line.rsplit("  ", 1)[1]
            [trace] = [t for (p, _), t in self.decoded.items() if p == path]
            with self.subTest(file=os.path.basename(path)):
                self.assertTrue(line.startswith(f"trace {trace.trace_id}  "), line)
                sent = sum(len(e.data) for e in trace.events if e.kind == "write")
                received = sum(len(e.data) for e in trace.events if e.kind == "read")
                self.assertIn(f"  sent {sent} B (", line)
                self.assertIn(f"  received {received} B (", line)
                self.assertIn("streamed" if trace.streamed else "buffered", line.split("  "))
                if trace.local[0] == "::1":
                    self.assertIn(f"[::1]:{trace.local[1]} → [::1]:{trace.remote[1]}", line)
                else:
                    self.assertIn(f"127.0.0.1:{trace.local[1]} → 127.0.0.1:{trace.remote[1]}", line)
                if trace.process_name:
                    self.assertIn(f"  {trace.process_name}[{trace.pid}]  ", line)
                gaps = sum(1 for e in trace.events if e.kind == "read" and e.truncated and not e.data)
                if gaps:
                    self.assertRegex(line, rf"received \d+ B \(\d+ events?, truncated: \d+ cut, {gaps} gaps?\)")

    def test_text_events(self):
        done = view("--events", *self.files)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.decode().splitlines()
        traces = list(self.decoded.values())
        event_lines = [line for line in lines if line.startswith("    +")]
        self.assertEqual(len(lines), len(traces) + len(event_lines))
        self.assertEqual(len(event_lines), sum(len(t.events) for t in traces))
        self.assertEqual(sum(1 for line in event_lines if " → " in line),
                         sum(1 for t in traces for e in t.events if e.kind == "write"))
        self.assertEqual(sum(1 for line in event_lines if " ← " in line),
                         sum(1 for t in traces for e in t.events if e.kind == "read"))
        # seq_num of streamed events (buffered events have none).
        self.assertEqual(sum(1 for line in event_lines if "  seq " in line),
                         sum(1 for t in traces for e in t.events if t.streamed and e.seq_num))
        self.assertTrue(any("  seq " in line for line in event_lines))
        self.assertEqual(sum(1 for line in event_lines if "  end_stream" in line),
                         sum(1 for t in traces for e in t.events if e.end_stream))
        # The data, escaped and cut at 60 characters: the first write, and
        # its echo read back with the start of the binary part.
        self.assertIn('  → 43 B  ' + r'"GET /x HTTP/1.1\r\nHost: \"tapshim\"\tviewer\r\n\r\n"' + '\n',
                      done.stdout.decode())
        self.assertIn(r'B  truncated  "GET /x HTTP/1.1\r\nHost: \"tapshim\"\tviewer\r\n\r\n\x03\n"...',
                      done.stdout.decode())

    def test_directory_argument(self):
        directory = os.path.join(self.dir, "copy")
        os.mkdir(directory)
        for path in self.files[:6]:
            shutil.copy(path, directory)
        open(os.path.join(directory, "notes.txt"), "w").close()
        lines = self.view_json(directory)
        self.assertEqual(sorted(os.path.basename(line["file"]) for line in lines),
                         sorted(os.path.basename(p) for p in self.files[:6]))

    def test_files_that_are_not_traces(self):
        directory = os.path.join(self.dir, "bad")
        os.mkdir(directory)
        bad = {"text.pb": b"hello, this is not a trace\n", "garbage.json": b"{not json",
               "empty.pb_length_delimited": b"", "cut.pb_text": b"socket_buffered_trace {\n",
               "notes.txt": b"a note\n"}
        for name, content in bad.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(content)
        bad_paths = [os.path.join(directory, name) for name in bad] + [os.path.join(directory, "missing.pb")]
        done = view(self.files[0], *bad_paths, self.files[1])
        self.assertEqual(done.returncode, 1)
        errors = done.stderr.decode().splitlines()
        self.assertEqual(len(errors), len(bad_paths), errors)
        for line, path in zip(errors, bad_paths):
            self.assertTrue(line.startswith(f"tapshim-view: {path}: "), line)
        self.assertEqual(len(done.stdout.decode().splitlines()), 2)  # the good ones still shown

    def test_command_line_mistakes(self):
        for args in ([], ["--bogus", self.files[0]], ["--json"]):
            with self.subTest(args=args):
                done = view(*args)
                self.assertEqual(done.returncode, 2)
                self.assertEqual(len(done.stderr.decode().splitlines()), 1)
                self.assertEqual(done.stdout, b"")
        done = view("--help")
        self.assertEqual(done.returncode, 0)
        self.assertTrue(done.stdout.startswith(b"usage: tapshim-view [--events] [--json] FILE"))

    def test_follow_prints_every_event_of_every_format(self):
        """--follow on files already written: one line per event, in each
        file's order, with the decoded size and preview."""
        done = view("--follow", "--duration", "0.5", *self.files)
        self.assertEqual((done.returncode, done.stderr), (0, b""))
        lines = done.stdout.decode().splitlines()
        expected = []
        for path in self.files:
            for trace in decode([path]):
                first = True
                for event in trace.events:
                    local = trace.local
                    expected.append((event, local, first))
                    first = False
        self.assertEqual(len(lines), len(expected))
        for line, (event, local, _) in zip(lines, expected):
            self.assertRegex(line, r"^\d\d:\d\d:\d\d\.\d{6}  ")
            arrow = " ← " if event.kind == "read" else " → "
            self.assertIn(arrow, line)
            if event.kind == "closed":
                self.assertIn("  closed", line)
                continue
            self.assertIn(f"  {'read ' if event.kind == 'read' else 'write'}  {len(event.data)} B", line)
            if event.truncated:
                self.assertIn("  gap" if not event.data else "  truncated", line)
            if event.data[:10].isalnum():
                self.assertIn('"' + event.data[:10].decode(), line)

    def test_follow_live(self):
        """A streamed client's events show while it runs, one flushed line
        each; SIGTERM ends the view with status 0."""
        directory = tempfile.mkdtemp(prefix="tapshim-view-follow-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        follow = subprocess.Popen([VIEW, "--follow", directory], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(follow.stdout.readline, b"")),
                                  daemon=True)
        reader.start()
        client_code = (
            "import socket, sys\n"
            "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
            "for word in (b'first-line\\n', b'second-line\\n'):\n"
            "    s.sendall(word); assert s.recv(100) == word\n"
            "    sys.stdin.readline()\n"
            "s.close()\n")
        with EchoServer() as server:
            client = subprocess.Popen([PYTHON, "-c", client_code, str(server.port)],
                                      env=shim_env(os.path.join(directory, "trace"), TAP_STREAMING=1),
                                      stdin=subprocess.PIPE)
            deadline = time.monotonic() + 20
            while not any(b"first-line" in line for line in lines) and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertIsNone(client.poll())  # still running, waiting for us
            client.communicate(b"\n\n", timeout=60)
            deadline = time.monotonic() + 20
            while not any(b"closed" in line for line in lines) and time.monotonic() < deadline:
                time.sleep(0.02)
        follow.send_signal(signal.SIGTERM)
        _, stderr = follow.communicate(timeout=30)
        reader.join(timeout=30)
        self.assertEqual((follow.returncode, stderr), (0, b""))
        text = [line.decode().rstrip("\n") for line in lines]
        port = server.port
        pattern = (r"^\d\d:\d\d:\d\d\.\d{6}  127\.0\.0\.1:\d+ (→|←) 127\.0\.0\.1:%d  "
                   r"\S+\[%d\]  " % (port, client.pid))
        self.assertEqual(len(text), 5, text)
        for line in text:
            self.assertRegex(line, pattern)
        self.assertTrue(text[0].endswith('  write  11 B  "first-line\\n"'), text[0])
        self.assertTrue(text[1].endswith('  read   11 B  "first-line\\n"'), text[1])
        self.assertTrue(text[2].endswith('  write  12 B  "second-line\\n"'), text[2])
        self.assertTrue(text[4].endswith("  closed"), text[4])

    def test_joined_late(self):
        """A trace that joined its connection late says so: in the summary,
        its JSON, and the first line of --follow."""
        directory = tempfile.mkdtemp(prefix="tapshim-view-late-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        golden = os.path.join(os.environ["ENVOY_CONFORMANCE_DIR"], "tap2pcap_h2_ipv4.pb_text")
        subprocess.run([os.environ["MAKE_TEST_TRACES"], directory, golden], check=True)
        for name in ("joined_late.pb", "joined_late_streamed.pb_length_delimited"):
            path = os.path.join(directory, name)
            with self.subTest(name=name):
                self.assertIn(b"  joined-late  ", view(path).stdout)
                [line] = self.view_json(path)
                self.assertTrue(line["joined_late"])
                done = view("--follow", "--duration", "0.2", path)
                lines = done.stdout.decode().splitlines()
                self.assertEqual(len(lines), 3)
                self.assertIn("  joined-late", lines[0])
                self.assertNotIn("joined-late", lines[1] + lines[2])
        self.assertNotIn(b"joined-late", view(os.path.join(directory, "http1.pb")).stdout)

    def test_follow_command_line_mistakes(self):
        for args in (["--follow", "--json", self.files[0]], ["--duration", "2", self.files[0]],
                     ["--follow", "--duration", "-1", self.files[0]]):
            with self.subTest(args=args):
                done = view(*args)
                self.assertEqual(done.returncode, 2)
                self.assertEqual(len(done.stderr.decode().splitlines()), 1)
        done = view("--follow", os.path.join(self.dir, "missing"))
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr.decode().splitlines()[-1], "tapshim-view: no input can be followed")


if __name__ == "__main__":
    unittest.main()
