"""Shared helpers for tests that run real programs under libtapshim.so.

meson passes the paths of the build's artefacts in the environment:
  TAPSHIM_LIB     build/src/preload/libtapshim.so
  TRACE_TO_JSON   build/tests/support/trace_to_json (decodes with libprotobuf)
Tests use only the standard library: servers run on loopback ports chosen
at run time, and every trace is decoded by libprotobuf through
trace_to_json, never by hand.
"""
import base64
import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

TAPSHIM_LIB = os.environ.get("TAPSHIM_LIB", "")
TRACE_TO_JSON = os.environ.get("TRACE_TO_JSON", "")


def require_artefacts():
    for name, path in (("TAPSHIM_LIB", TAPSHIM_LIB), ("TRACE_TO_JSON", TRACE_TO_JSON)):
        if not path or not os.path.exists(path):
            raise RuntimeError(f"{name} is not set to a built file (got {path!r}); run under meson test")


def free_port(family=socket.AF_INET):
    """A TCP port that is free now on loopback (the kernel picks it)."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_for_port(port, host="127.0.0.1", timeout=10.0):
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while time.monotonic() < deadline:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def shim_env(prefix=None, **variables):
    """The environment for a tapped program: LD_PRELOAD plus TAP_* settings."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("TAP_"):
            del env[key]
    # Under a sanitized build (scripts/test's asan and tsan runs) the
    # sanitizer's runtime must be loaded first: TAPSHIM_PRELOAD_FIRST names it.
    first = os.environ.get("TAPSHIM_PRELOAD_FIRST")
    env["LD_PRELOAD"] = f"{first} {TAPSHIM_LIB}" if first else TAPSHIM_LIB
    if prefix is not None:
        env["TAP_PATH_PREFIX"] = prefix
    for key, value in variables.items():
        env[key] = str(value)
    return env


class Event:
    def __init__(self, raw):
        self.timestamp = raw.get("timestamp")
        self.seq_num = int(raw.get("seq_num", "0"))
        self.connection = raw.get("connection")
        if "read" in raw:
            self.kind, body = "read", raw["read"].get("data", {})
            self.end_stream = False
        elif "write" in raw:
            self.kind, body = "write", raw["write"].get("data", {})
            self.end_stream = raw["write"].get("end_stream", False)
        else:
            self.kind, body = "closed", {}
            self.end_stream = False
        self.has_body = "as_bytes" in body or "as_string" in body
        self.as_string = "as_string" in body
        if self.as_string:
            self.data = body["as_string"].encode("utf-8")
        else:
            self.data = base64.b64decode(body.get("as_bytes", ""))
        self.truncated = body.get("truncated", False)

    def __repr__(self):
        return f"Event({self.kind}, {self.data[:40]!r}..., truncated={self.truncated})"


def _address(raw):
    if not raw:
        return None
    if "socket_address" in raw:
        sa = raw["socket_address"]
        return (sa.get("address", ""), sa.get("port_value", 0))
    if "pipe" in raw:
        return ("pipe", raw["pipe"].get("path", ""))
    return None


TRACE_EXTENSIONS = (".pb", ".pb_length_delimited", ".pb_text", ".json")


class Trace:
    """One connection's trace: a buffered SocketBufferedTrace, or the
    SocketStreamedTraceSegments of one streamed file put together."""

    def __init__(self, path, wrappers):
        self.path = path
        self.raw = wrappers
        self.streamed = "socket_streamed_trace_segment" in wrappers[0]
        self.events = []
        self.local = self.remote = None
        self.read_truncated = self.write_truncated = False
        self.pid, self.process_name = 0, ""
        self.origin = "UNKNOWN"  # tapshim_process.connection_origin (binary formats)
        self.undecrypted_tls = False  # tapshim_process.undecrypted_tls
        self.segments = []  # streamed: one entry per message: "connection", "event" or "events"
        if not self.streamed:
            if len(wrappers) != 1:
                raise AssertionError(f"{path}: {len(wrappers)} buffered traces in one file")
            trace = wrappers[0]["socket_buffered_trace"]
            self.trace_id = int(trace.get("trace_id", "0"))
            self._connection(trace.get("connection", {}))
            self.events = [Event(e) for e in trace.get("events", [])]
            self.read_truncated = trace.get("read_truncated", False)
            self.write_truncated = trace.get("write_truncated", False)
            self._process(trace.get("tapshim_process", {}))
            return
        ids = set()
        for wrapper in wrappers:
            segment = wrapper["socket_streamed_trace_segment"]
            ids.add(int(segment.get("trace_id", "0")))
            self._process(segment.get("tapshim_process", {}))
            if "connection" in segment:
                self.segments.append("connection")
                self._connection(segment["connection"])
            elif "event" in segment:
                self.segments.append("event")
                self.events.append(Event(segment["event"]))
            elif "events" in segment:
                self.segments.append("events")
                self.events.extend(Event(e) for e in segment["events"].get("events", []))
            else:
                raise AssertionError(f"{path}: a segment without a piece: {segment}")
        if len(ids) != 1:
            raise AssertionError(f"{path}: segments of several traces: {ids}")
        self.trace_id = ids.pop()

    def _connection(self, connection):
        self.local = _address(connection.get("local_address"))
        self.remote = _address(connection.get("remote_address"))

    def _process(self, process):
        if process:
            self.pid = process.get("pid", 0)
            self.process_name = process.get("name", "")
            self.origin = process.get("connection_origin", "UNKNOWN")
            self.undecrypted_tls = self.undecrypted_tls or process.get("undecrypted_tls", False)

    def received(self):
        return b"".join(e.data for e in self.events if e.kind == "read")

    def sent(self):
        return b"".join(e.data for e in self.events if e.kind == "write")

    def __repr__(self):
        return (f"Trace({os.path.basename(self.path)}, local={self.local}, remote={self.remote}, "
                f"{len(self.events)} events, pid={self.pid} {self.process_name})")


def _trace_id_of(wrapper):
    body = wrapper.get("socket_buffered_trace") or wrapper.get("socket_streamed_trace_segment") or {}
    return int(body.get("trace_id", "0"))


def _file_id(path):
    """The id in a "<prefix>_<id>.<ext>" name, or None."""
    stem = os.path.basename(path)
    for extension in TRACE_EXTENSIONS:
        if stem.endswith(extension):
            stem = stem[:-len(extension)]
            break
    head, _, digits = stem.rpartition("_")
    return int(digits) if head is not None and digits.isdigit() else None


def split_by_trace(path, wrappers):
    """The records of one file, grouped by trace id in order of first
    appearance. A file_per_tap file (its name is its trace's id) must hold
    one trace; a file_per_process file (named by an id no trace has) holds
    any number, buffered traces back to back or streamed segments of many
    traces interleaved."""
    groups = {}
    for wrapper in wrappers:
        groups.setdefault(_trace_id_of(wrapper), []).append(wrapper)
    if len(groups) > 1 and _file_id(path) in groups:
        raise AssertionError(f"{path}: traces {sorted(groups)} in a file_per_tap file")
    return list(groups.values())


def decode(paths):
    """Decodes trace files of any format with libprotobuf (trace_to_json);
    fails loudly. One Trace per file for file_per_tap; a file_per_process
    file yields one Trace per trace id in it, in order of first record."""
    if not paths:
        return []
    done = subprocess.run([TRACE_TO_JSON, *paths], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"trace_to_json failed: {done.stderr.strip()}")
    records = {}
    for line in done.stdout.splitlines():
        item = json.loads(line)
        records.setdefault(item["file"], []).append(item["trace"])
    return [Trace(path, group) for path in paths if path in records
            for group in split_by_trace(path, records[path])]


def trace_paths(prefix):
    """Every trace file under `prefix` ("<prefix>_<id>.<ext>"), any format."""
    return sorted(p for p in glob.glob(glob.escape(prefix) + "_*") if p.endswith(TRACE_EXTENSIONS))


def load_traces(prefix):
    """Every trace written under `prefix`, in any format."""
    return decode(trace_paths(prefix))


class TapTestCase(unittest.TestCase):
    """A test with its own temporary trace directory (self.prefix)."""

    def setUp(self):
        require_artefacts()
        self.dir = tempfile.mkdtemp(prefix="tapshim-test-")
        self.prefix = os.path.join(self.dir, "trace")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def traces(self):
        return load_traces(self.prefix)

    def trace_files(self):
        return sorted(glob.glob(glob.escape(self.prefix) + "_*"))

    def traces_to_port(self, port):
        """Client-side traces of connections to `port`."""
        return [t for t in self.traces() if t.remote and t.remote[1] == port]

    def traces_from_port(self, port):
        """Server-side traces of connections accepted on `port`."""
        return [t for t in self.traces() if t.local and t.local[1] == port]


@contextlib.contextmanager
def background(command, env=None, cwd=None, port=None, host="127.0.0.1"):
    """Runs a server for the duration of a `with` block, then stops it."""
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        if port is not None:
            wait_for_port(port, host)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
