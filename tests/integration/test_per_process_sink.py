"""TAP_SINK=file_per_process: a Python client under the shim makes many
connections from several threads (and from a forked child) to an untapped
echo server. Each process writes ONE file; every connection's trace is in
its process's file exactly once, with the exact bytes, buffered or streamed
(segments of many traces interleaved); the file is 0600 and every record
parses (trace_to_json: no interleaved or torn message). tap2pcap and
tapshim-view read the file as the many traces it holds."""
import json
import os
import re
import shutil
import subprocess
import unittest

from servers import PYTHON, EchoServer
from tapshim_testlib import TapTestCase, shim_env

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(os.environ.get("TAPSHIM_LIB", "x")))),
                     "tools")
TAP2PCAP = os.path.join(TOOLS, "tap2pcap")
VIEW = os.path.join(TOOLS, "tapshim-view")
LIMIT = 1 << 20  # every byte is kept

# argv: port, threads, connections per thread, connections of the child.
# The parent makes one connection (so its file exists), forks a child that
# makes its own, then runs the threads. Prints one JSON line per connection.
CLIENT = r"""
import json, os, socket, sys, threading
port, thread_count, per_thread, child_count = map(int, sys.argv[1:5])

def payload(pid, tag, i):
    size = (i * 397 + tag * 1009) % 3000 + 1
    head = f"{pid}:{tag}:{i}:".encode()
    return (head + bytes((k * 7 + i + tag) % 256 for k in range(size)))[:max(size, len(head))]

def one(tag, i, out):
    data = payload(os.getpid(), tag, i)
    sock = socket.create_connection(("127.0.0.1", port))
    local = sock.getsockname()[1]
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    echoed = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        echoed += chunk
    sock.close()
    assert echoed == data, (tag, i)
    out.append(json.dumps({"pid": os.getpid(), "tag": tag, "i": i, "port": local,
                           "size": len(data)}))

lines = []
one(0, 0, lines)
child = os.fork()
if child == 0:
    mine = []
    for i in range(child_count):
        one(99, i, mine)
    os.write(1, ("\n".join(mine) + "\n").encode())
    os._exit(0)
_, status = os.waitpid(child, 0)
assert status == 0
threads = [threading.Thread(target=lambda t=t: [one(t + 1, i, lines) for i in range(per_thread)])
           for t in range(thread_count)]
for t in threads: t.start()
for t in threads: t.join()
sys.stdout.write("\n".join(lines) + "\n")
"""

PAYLOAD_CODE = CLIENT.split("def one")[0].split("\n", 3)[3]
_namespace = {}
exec(PAYLOAD_CODE, _namespace)
payload = _namespace["payload"]

FILE = re.compile(r"^trace_(\d+)\.(pb_length_delimited|pb_text|json)$")


class PerProcessSinkTest(TapTestCase):

    def run_client(self, threads, per_thread, child_count, **variables):
        variables.setdefault("TAP_MAX_BUFFERED_RX_BYTES", LIMIT)
        variables.setdefault("TAP_MAX_BUFFERED_TX_BYTES", LIMIT)
        with EchoServer() as server:
            done = subprocess.run(
                [PYTHON, "-c", CLIENT, str(server.port), str(threads), str(per_thread),
                 str(child_count)],
                env=shim_env(self.prefix, TAP_SINK="file_per_process", **variables),
                capture_output=True, timeout=240)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stderr, b"")
        connections = [json.loads(line) for line in done.stdout.decode().splitlines() if line]
        self.assertEqual(len(connections), 1 + threads * per_thread + child_count)
        return server.port, connections

    def check(self, port, connections, streamed, extension=".pb_length_delimited"):
        files = self.trace_files()
        pids = {c["pid"] for c in connections}
        # One file per process, each 0600, named by an id that no trace has.
        self.assertEqual(len(files), len(pids), files)
        for path in files:
            match = FILE.match(os.path.basename(path))
            self.assertIsNotNone(match, path)
            self.assertTrue(path.endswith(extension), path)
            self.assertEqual(os.stat(path).st_mode & 0o7777, 0o600)
        traces = self.traces()
        self.assertEqual(len({t.trace_id for t in traces}), len(traces))
        file_ids = {int(FILE.match(os.path.basename(p)).group(1)) for p in files}
        self.assertFalse(file_ids & {t.trace_id for t in traces})
        # The file's id is one of its process's trace ids: same random half.
        for trace in traces:
            file_id = int(FILE.match(os.path.basename(trace.path)).group(1))
            self.assertEqual(trace.trace_id >> 32, file_id >> 32, trace)
            self.assertEqual(trace.streamed, streamed)
            self.assertEqual(trace.remote, ("127.0.0.1", port))
        # Every connection exactly once, in its own process's file, with its
        # exact bytes. (Text and JSON carry no pid: the file tells the process.)
        by_key = {}
        for trace in traces:
            key = (trace.path, trace.local[1])
            self.assertNotIn(key, by_key)
            by_key[key] = trace
        self.assertEqual(len(by_key), len(connections))
        file_of_pid = {}
        for c in connections:
            if c["pid"] not in file_of_pid:
                [path] = [p for p in files if (p, c["port"]) in by_key]
                file_of_pid[c["pid"]] = path
            trace = by_key[(file_of_pid[c["pid"]], c["port"])]
            if trace.pid:
                self.assertEqual(trace.pid, c["pid"])
            data = payload(c["pid"], c["tag"], c["i"])
            self.assertEqual(trace.sent(), data, c)
            self.assertEqual(trace.received(), data, c)
            self.assertFalse(any(e.truncated for e in trace.events), c)
            if streamed:
                self.assertEqual(trace.segments[0], "connection")
                self.assertEqual(trace.events[-1].kind, "closed")
        self.assertEqual(len(set(file_of_pid.values())), len(pids))
        return files, traces

    def test_buffered_many_threads_and_a_forked_child(self):
        port, connections = self.run_client(threads=6, per_thread=40, child_count=15)
        self.check(port, connections, streamed=False)

    def test_streamed_per_event_segments_of_many_traces_interleave_in_one_file(self):
        port, connections = self.run_client(threads=6, per_thread=40, child_count=15,
                                            TAP_STREAMING=1)
        files, traces = self.check(port, connections, streamed=True)
        # The threads ran at once: some trace's segments are not contiguous.
        done = subprocess.run([os.environ["TRACE_TO_JSON"], *files], capture_output=True, text=True)
        order = []
        for line in done.stdout.splitlines():
            segment = json.loads(line)["trace"]["socket_streamed_trace_segment"]
            order.append((json.loads(line)["file"], segment["trace_id"]))
        switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
        self.assertGreater(switches, len(traces))

    def test_streamed_in_batches(self):
        port, connections = self.run_client(threads=3, per_thread=20, child_count=5,
                                            TAP_STREAMING=1, TAP_MIN_STREAMED_SENT_BYTES=1000)
        self.check(port, connections, streamed=True)

    def test_text_and_json_traces_concatenate(self):
        for name, extension in (("proto_text", ".pb_text"), ("json_body_as_bytes", ".json"),
                                ("json_body_as_string", ".json")):
            for streaming in ("0", "1"):
                with self.subTest(format=name, streaming=streaming):
                    self.setUp()
                    port, connections = self.run_client(threads=3, per_thread=10, child_count=3,
                                                        TAP_FORMAT=name, TAP_STREAMING=streaming)
                    self.check(port, connections, streamed=streaming == "1", extension=extension)

    def test_proto_binary_is_refused_with_one_line(self):
        with EchoServer() as server:
            done = subprocess.run(
                [PYTHON, "-c", CLIENT, str(server.port), "1", "2", "1"],
                env=shim_env(self.prefix, TAP_SINK="file_per_process", TAP_FORMAT="proto_binary"),
                capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("tapshim: TAP_SINK: file_per_process needs a delimited format"),
                        lines[0])
        self.assertEqual(self.trace_files(), [])

    def test_a_process_without_connections_leaves_no_file(self):
        done = subprocess.run([PYTHON, "-c", "import os; os.fork() or os._exit(0)"],
                              env=shim_env(self.prefix, TAP_SINK="file_per_process"),
                              capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.trace_files(), [])

    def test_tap2pcap_and_the_viewer_read_every_trace(self):
        for streaming in ("0", "1"):
            with self.subTest(streaming=streaming):
                self.setUp()
                port, connections = self.run_client(threads=4, per_thread=10, child_count=4,
                                                    TAP_STREAMING=streaming)
                files = self.trace_files()
                expected = {(c["pid"], c["port"]): c["size"] for c in connections}
                # The viewer: one line per connection, its bytes each way.
                view = subprocess.run([VIEW, "--json", *files], capture_output=True, text=True)
                self.assertEqual(view.returncode, 0, view.stderr)
                rows = [json.loads(line) for line in view.stdout.splitlines()]
                seen = {(row["pid"], row["local"]["port"]): (row["sent"]["bytes"],
                                                             row["received"]["bytes"])
                        for row in rows}
                self.assertEqual(len(rows), len(connections))
                self.assertEqual(seen, {k: (v, v) for k, v in expected.items()})
                # tap2pcap: one TCP stream per connection, every payload byte.
                capture = os.path.join(self.dir, "all.pcapng")
                done = subprocess.run([TAP2PCAP, "-o", capture, *files], capture_output=True,
                                      text=True)
                self.assertEqual(done.returncode, 0, done.stderr)
                if shutil.which("tshark") is None:
                    continue
                fields = subprocess.run(
                    ["tshark", "-r", capture, "-T", "fields", "-e", "tcp.stream", "-e", "tcp.len"],
                    capture_output=True, text=True, check=True).stdout
                payload_per_stream = {}
                for line in fields.splitlines():
                    stream, length = line.split("\t")
                    payload_per_stream[stream] = payload_per_stream.get(stream, 0) + int(length or 0)
                self.assertEqual(len(payload_per_stream), len(connections))
                self.assertEqual(sorted(payload_per_stream.values()),
                                 sorted(2 * size for size in expected.values()))


if __name__ == "__main__":
    unittest.main()
