"""Fixtures shared by the integration tests: servers that record the exact
bytes they exchanged, real server programs started as subprocesses, nginx
configuration rendering, and checks of Envoy's buffered-trace semantics.

The recording servers run on threads inside the (untapped) test process and
bind port 0, so the kernel picks their port; programs under test that need
a port on their command line get one from tapshim_testlib.free_port().
"""
import contextlib
import glob
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time


# The Python that runs the tests, by its real path (python3 on PATH may be a
# pyenv wrapper script, which would add a bash process under the shim).
PYTHON = sys.executable
NGINX = "/usr/sbin/nginx"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_LIMIT = 1024


class Connection:
    """What a recording server saw on one accepted connection."""

    def __init__(self, peer):
        self.peer = peer[:2]          # (address, port) of the client
        self.received = bytearray()
        self.sent = bytearray()
        self.requests = []            # HTTP only: each request, as bytes
        self.closed = False

    def __repr__(self):
        return f"Connection(peer={self.peer}, received={len(self.received)}, sent={len(self.sent)})"


class _RecordingServer:
    """Base: accept loop on a thread, one thread per connection."""

    def __init__(self, host="127.0.0.1"):
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections = []
        self.condition = threading.Condition()
        self._stopping = False
        self._threads = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self):
        self._acceptor.start()
        return self

    def __exit__(self, *exc):
        self._stopping = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._acceptor.join(timeout=10)
        for thread in self._threads:
            thread.join(timeout=10)

    def _accept_loop(self):
        while not self._stopping:
            try:
                sock, peer = self.listener.accept()
            except OSError:
                return
            connection = Connection(peer)
            with self.condition:
                self.connections.append(connection)
            thread = threading.Thread(target=self._serve, args=(sock, connection), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock, connection):
        try:
            with sock:
                self.handle(sock, connection)
        except OSError:
            pass
        finally:
            with self.condition:
                connection.closed = True
                self.condition.notify_all()

    def _send(self, sock, connection, data):
        sock.sendall(data)
        connection.sent += data

    def wait_closed(self, count, timeout=60.0):
        """Waits until `count` connections were accepted and are closed."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while True:
                done = [c for c in self.connections if c.closed]
                if len(done) >= count:
                    return list(self.connections)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(done)} of {count} connections closed: {self.connections}")
                self.condition.wait(remaining)

    def connection_from(self, port):
        matches = [c for c in self.connections if c.peer[1] == port]
        if len(matches) != 1:
            raise AssertionError(f"no single connection from port {port}: {self.connections}")
        return matches[0]


class RecordingHTTPServer(_RecordingServer):
    """A small HTTP/1.1 server that logs every byte it received and sent.

    routes: path -> body bytes for GET. POST to /echo answers with the request
    body. Connections stay open (keep-alive) unless the request is HTTP/1.0
    or says "Connection: close". `split_at`, if set, sends each response in
    two sendall calls, cut at that offset.
    """

    def __init__(self, routes=None, host="127.0.0.1"):
        super().__init__(host)
        self.routes = dict(routes or {})

    def url(self, path):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    @staticmethod
    def response_for_body(body, version=b"HTTP/1.1", close=False):
        headers = [version + b" 200 OK", b"Content-Type: application/octet-stream",
                   b"Content-Length: " + str(len(body)).encode()]
        if close:
            headers.append(b"Connection: close")
        return b"\r\n".join(headers) + b"\r\n\r\n" + body

    def handle(self, sock, connection):
        pending = bytearray()
        while True:
            while b"\r\n\r\n" not in pending:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                connection.received += chunk
                pending += chunk
            head_end = pending.index(b"\r\n\r\n") + 4
            head = bytes(pending[:head_end])
            lines = head.split(b"\r\n")
            method, path, version = lines[0].split(b" ", 2)
            fields = {}
            for line in lines[1:]:
                if b":" in line:
                    name, value = line.split(b":", 1)
                    fields[name.strip().lower()] = value.strip()
            length = int(fields.get(b"content-length", b"0"))
            while len(pending) < head_end + length:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                connection.received += chunk
                pending += chunk
            body = bytes(pending[head_end:head_end + length])
            connection.requests.append(bytes(pending[:head_end + length]))
            del pending[:head_end + length]
            close = version == b"HTTP/1.0" or fields.get(b"connection", b"").lower() == b"close"
            path = path.decode()
            if method == b"POST" and path == "/echo":
                response = self.response_for_body(body, close=close)
            elif path in self.routes:
                response = self.response_for_body(self.routes[path], close=close)
            else:
                response = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                response += b"Connection: close\r\n\r\n" if close else b"\r\n"
            self._send(sock, connection, response)
            if close:
                return


class EchoServer(_RecordingServer):
    """Sends back every byte it receives, closes after the client's EOF."""

    def handle(self, sock, connection):
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return
            connection.received += chunk
            self._send(sock, connection, chunk)


# A client that runs a plan of steps on one connection (send, shut, recv,
# drain...), checking what it receives. Byte i of the stream is PATTERN[i].
PLAN_CLIENT = textwrap.dedent("""
    import json, socket, sys, threading
    port, plan = int(sys.argv[1]), json.loads(sys.argv[2])
    pattern = bytes((i * 7 + i // 251) % 256 for i in range(1 << 20))
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.settimeout(None)  # a blocking fd: with a timeout, Python polls a non-blocking one
    sent = received = 0
    threads = []
    def send_chunks(sizes):
        global sent
        for size in sizes:
            n = sock.send(pattern[sent:sent + size])
            assert n == size, (n, size)
            sent += size
    for step, *args in plan:
        if step == "send":
            send_chunks(args[0])
        elif step == "send_in_thread":  # while the main thread reads
            thread = threading.Thread(target=lambda: (send_chunks(args[0]), sock.shutdown(socket.SHUT_WR)))
            thread.start()
            threads.append(thread)
        elif step == "recv":
            for size in args[0]:
                data = sock.recv(size, socket.MSG_WAITALL)
                assert data == pattern[received:received + size], (len(data), size)
                received += size
        elif step == "shut":
            sock.shutdown(socket.SHUT_WR)
        elif step == "drain":
            while data := sock.recv(args[0]):
                assert data == pattern[received:received + len(data)]
                received += len(data)
    for thread in threads:
        thread.join()
    sock.close()
    print(json.dumps({"sent": sent, "received": received}))
""")

PATTERN = bytes((i * 7 + i // 251) % 256 for i in range(1 << 20))


# --- Real server programs -------------------------------------------------

def probe_port(port, host="127.0.0.1", timeout=30.0):
    """Waits until something listens on host:port. Returns the local port of
    the probe connection that succeeded: a tapped server traces it too (an
    established connection that carried no data)."""
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            if probe.connect_ex((host, port)) == 0:
                return probe.getsockname()[1]
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")
        time.sleep(0.05)


@contextlib.contextmanager
def server_process(command, port, host="127.0.0.1", env=None, cwd=None, log_path=None,
                   stop_signal=signal.SIGINT, timeout=30.0):
    """Runs a server program while the block runs; stops it with stop_signal
    and waits for it (a graceful stop lets a tapped server write its traces).
    Output goes to log_path (not a pipe, which a chatty server could fill).
    The process gets `probe_port`: the client port of the readiness probe."""
    log = open(log_path or os.devnull, "wb")
    process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            process.probe_port = probe_port(port, host, timeout=timeout)
        except TimeoutError:
            process.kill()
            raise
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(stop_signal)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def http_server_command(root, port, host="127.0.0.1"):
    """python3 -m http.server serving `root` (HTTP/1.0, closes after each response)."""
    return [PYTHON, "-m", "http.server", "--bind", host, "--directory", root, str(port)]


def render_nginx(directory, port, root, host="127.0.0.1", sendfile=False):
    """Writes nginx.conf (from nginx.conf.in) into `directory`; returns its path.
    Every file nginx writes stays inside `directory`."""
    with open(os.path.join(HERE, "nginx.conf.in")) as template:
        text = template.read()
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    for key, value in (("@DIR@", directory), ("@LISTEN@", listen), ("@ROOT@", root),
                       ("@SENDFILE@", "on" if sendfile else "off")):
        text = text.replace(key, value)
    path = os.path.join(directory, "nginx.conf")
    with open(path, "w") as conf:
        conf.write(text)
    return path


def nginx_command(directory, conf):
    return [NGINX, "-p", directory + "/", "-c", conf, "-e", os.path.join(directory, "error.log")]


def children_of(pid):
    """Pids of the direct children of `pid` (from /proc)."""
    children = set()
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError), open(path) as f:
            children.update(int(p) for p in f.read().split())
    return children


def wait_until(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- HTTP helpers ---------------------------------------------------------

def http_request(path, host_header, method="GET", body=b"", extra=(), version="HTTP/1.1"):
    lines = [f"{method} {path} {version}", f"Host: {host_header}", "User-Agent: tapshim-test"]
    lines += list(extra)
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_http_response(sock):
    """Reads one response with a Content-Length from a blocking socket;
    returns the raw bytes."""
    data = bytearray()
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk
    head_end = data.index(b"\r\n\r\n") + 4
    length = 0
    for line in bytes(data[:head_end]).split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(data) < head_end + length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return bytes(data)


# --- Checks of Envoy's buffered semantics (envoy-tap-format.md §3.2) --------

def check_buffered_direction(test, trace, kind, full, limit=DEFAULT_LIMIT):
    """Asserts that the `kind` ("read" or "write") events of a buffered trace
    record `full` (every byte that went that way) under a cumulative budget
    of `limit` bytes: the kept bytes are full[:limit]; when more went by,
    the trace flag is set and the last kept event is the truncated one (an
    empty one when the budget ran out exactly at an event's end), and no
    event of that direction follows it."""
    events = [e for e in trace.events if e.kind == kind]
    flag = trace.read_truncated if kind == "read" else trace.write_truncated
    kept = b"".join(e.data for e in events)
    test.assertEqual(kept, full[:limit], f"{kind} bytes of {trace}")
    for event in events:
        test.assertTrue(event.has_body or event.truncated, f"{kind} event without a body in {trace}")
    if len(full) <= limit:
        test.assertFalse(flag, f"{kind}_truncated set in {trace}")
        test.assertFalse(any(e.truncated for e in events), f"truncated {kind} event in {trace}")
        return
    test.assertTrue(flag, f"{kind}_truncated not set in {trace}")
    test.assertTrue(events, f"no {kind} events in {trace}")
    test.assertTrue(events[-1].truncated, f"last {kind} event not truncated in {trace}: {events[-1]}")
    test.assertFalse(any(e.truncated for e in events[:-1]), f"early truncated {kind} event in {trace}")
    if not events[-1].data:
        # The exact-budget edge case: the previous events used the budget up.
        test.assertEqual(len(kept), limit)
        test.assertTrue(events[-1].has_body, "the edge-case event must carry an empty body")
