"""TLS fixtures for test_tls_*.py: certificates made at test time, nginx
with ssl and http2, openssl s_server, TLS echo and STARTTLS servers that
record the plaintext they exchanged, curl --trace parsing, and the checks
that a trace holds plaintext, never TLS records.

Every tool is required: a missing one fails the test (no skips).
"""
import contextlib
import os
import re
import shutil
import signal
import ssl
import subprocess
import time

from servers import HERE, NGINX, _RecordingServer, children_of, nginx_command, server_process, wait_until
from tapshim_testlib import free_port, shim_env

OPENSSL = "/usr/bin/openssl"
TLS_CLIENT = os.environ.get("TLS_CLIENT", "")
# Traces of TLS tests keep everything: the checks compare whole streams.
BIG_LIMIT = 4 * 1024 * 1024

# The HTTP/2 client connection preface (RFC 9113 §3.4).
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Labels of the NSS key log format (draft-ietf-tls-keylogfile).
KEYLOG_LABELS = ("CLIENT_RANDOM", "CLIENT_EARLY_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                 "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0",
                 "EARLY_EXPORTER_SECRET", "EXPORTER_SECRET")
KEYLOG_LINE = re.compile(r"(%s) ([0-9a-f]{64}) ([0-9a-f]{64,256})" % "|".join(KEYLOG_LABELS))


def require_tool(path):
    """The absolute path of a tool; raises (a failure, not a skip) if missing."""
    found = path if os.path.isabs(path) else shutil.which(path)
    if not found or not os.access(found, os.X_OK):
        raise AssertionError(f"required tool {path!r} is not installed (scripts/setup installs it)")
    return found


def tls_env(prefix, **variables):
    """shim_env with both buffered limits raised, so whole streams are kept."""
    variables.setdefault("TAP_MAX_BUFFERED_RX_BYTES", BIG_LIMIT)
    variables.setdefault("TAP_MAX_BUFFERED_TX_BYTES", BIG_LIMIT)
    return shim_env(prefix, **variables)


# --- Certificates ----------------------------------------------------------

def make_certificate(directory, name="server"):
    """A self-signed EC certificate for localhost, 127.0.0.1 and ::1, made
    now with openssl req. Returns (cert_path, key_path); the certificate is
    its own CA (curl --cacert, Python's cafile)."""
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    done = subprocess.run(
        [require_tool(OPENSSL), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        capture_output=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"openssl req failed: {done.stderr.decode(errors='replace')}")
    return cert, key


def server_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def client_context(cafile):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    return context


# --- nginx with ssl and http2 ----------------------------------------------

def render_nginx_tls(directory, port, root, cert, key, host="127.0.0.1"):
    """Writes nginx.conf (from nginx_tls.conf.in) into `directory`."""
    with open(os.path.join(HERE, "nginx_tls.conf.in")) as template:
        text = template.read()
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    for key_name, value in (("@DIR@", directory), ("@LISTEN@", listen), ("@ROOT@", root),
                            ("@CERT@", cert), ("@KEY@", key)):
        text = text.replace(key_name, value)
    path = os.path.join(directory, "nginx.conf")
    with open(path, "w") as conf:
        conf.write(text)
    return path


class AccessLogLine:
    """One line of nginx_tls.conf.in's `tapshim` log format."""
    PATTERN = re.compile(r'(\d+) "([^"]*)" (\d+) (\d+) (\d+) (\S+) (\S+) (\d+)')

    def __init__(self, line):
        match = self.PATTERN.fullmatch(line)
        if not match:
            raise AssertionError(f"unexpected access log line: {line!r}")
        port, self.request, status, request_length, bytes_sent, self.protocol, self.ssl_protocol, \
            connection = match.groups()
        self.remote_port, self.status = int(port), int(status)
        self.request_length, self.bytes_sent = int(request_length), int(bytes_sent)
        self.connection = int(connection)

    def __repr__(self):
        return (f"AccessLogLine({self.remote_port} {self.request!r} {self.status} "
                f"{self.request_length} {self.bytes_sent} {self.protocol} {self.ssl_protocol})")


class NginxTLS:
    """nginx (master + 2 workers) serving `files` over TLS (HTTP/1.1 and
    HTTP/2) on a free loopback port, in <directory>/nginx. Use as a context
    manager; `env` runs it under the shim. Untapped by default."""

    def __init__(self, directory, files, env=None, cert=None, key=None):
        self.dir = os.path.join(directory, "nginx")
        self.root = os.path.join(self.dir, "www")
        os.makedirs(self.root)
        for name, content in files.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(content)
        if cert is None:
            cert, key = make_certificate(self.dir)
        self.cert, self.key = cert, key
        self.port = free_port()
        self.conf = render_nginx_tls(self.dir, self.port, self.root, cert, key)
        self.env = env
        self.log = os.path.join(directory, "nginx.out")
        self.process = None
        self._stack = None

    def url(self, path, host="localhost"):
        return f"https://{host}:{self.port}{path}"

    def __enter__(self):
        require_tool(NGINX)
        self._stack = contextlib.ExitStack()
        self.process = self._stack.enter_context(server_process(
            nginx_command(self.dir, self.conf), self.port, env=self.env, cwd=self.dir,
            log_path=self.log, stop_signal=signal.SIGQUIT, timeout=60))
        self.workers = wait_until(lambda: children_of(self.process.pid)
                                  if len(children_of(self.process.pid)) == 2 else None,
                                  30, "two nginx workers")
        return self

    def __exit__(self, *exc):
        self._stack.close()
        return False

    @property
    def probe_port(self):
        return self.process.probe_port

    def access_log(self):
        path = os.path.join(self.dir, "access.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [AccessLogLine(line.rstrip("\n")) for line in f if line.strip()]

    def wait_logged(self, count, timeout=30.0):
        """nginx writes the log line after the response: wait for it."""
        return wait_until(lambda: self.access_log() if len(self.access_log()) >= count else None,
                          timeout, f"{count} access log lines")

    def output(self):
        with open(self.log, "rb") as f:
            return f.read()


# --- openssl s_server --------------------------------------------------------

@contextlib.contextmanager
def s_server(directory, cert, key, *options, env=None):
    """openssl s_server on a free loopback port with `options` (e.g. "-rev",
    "-www"), untapped unless `env` says otherwise. Yields the process (with
    .port). The readiness probe is a connection that fails its handshake,
    which s_server survives."""
    port = free_port()
    log = os.path.join(directory, f"s_server-{port}.out")
    command = [require_tool(OPENSSL), "s_server", "-accept", f"127.0.0.1:{port}", "-cert", cert, "-key", key,
               *options]
    with server_process(command, port, env=env, log_path=log, stop_signal=signal.SIGTERM) as process:
        process.port = port
        process.log = log
        yield process


# --- Python TLS servers (untapped, in the test process) ----------------------

class TLSEchoServer(_RecordingServer):
    """After the handshake, sends `banner`, then echoes every plaintext byte
    until the client's close_notify/EOF, then answers with its own
    close_notify. connection.received/sent hold the plaintext."""

    def __init__(self, cert, key, banner=b"HELLO tapshim\n", host="127.0.0.1"):
        super().__init__(host)
        self.context = server_context(cert, key)
        self.banner = banner
        self.errors = []

    def handle(self, sock, connection):
        try:
            tls = self.context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as error:
            self.errors.append(repr(error))
            return
        with tls:
            self._send(tls, connection, self.banner)
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                connection.received += chunk
                self._send(tls, connection, chunk)
            with contextlib.suppress(OSError, ssl.SSLError):
                tls.unwrap()


class StartTLSServer(_RecordingServer):
    """A line protocol: in plaintext the client sends STARTTLS, the server
    answers OK, both switch to TLS on the same socket; then each line gets
    "ECHO <line>" back; QUIT gets "BYE" and the connection ends.
    connection.received/sent hold the plaintext of both phases, in order;
    connection.requests is [plaintext part received, TLS part received]."""

    def __init__(self, cert, key, host="127.0.0.1"):
        super().__init__(host)
        self.context = server_context(cert, key)
        self.errors = []

    def handle(self, sock, connection):
        pending = bytearray()
        while b"\r\n" not in pending:
            chunk = sock.recv(1)  # byte by byte: nothing of the ClientHello read here
            if not chunk:
                return
            pending += chunk
            connection.received += chunk
        if bytes(pending) != b"STARTTLS\r\n":
            self.errors.append(f"expected STARTTLS, got {bytes(pending)!r}")
            return
        self._send(sock, connection, b"OK\r\n")
        try:
            tls = self.context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as error:
            self.errors.append(repr(error))
            return
        with tls:
            buffer = bytearray()
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    return
                connection.received += chunk
                buffer += chunk
                while b"\r\n" in buffer:
                    line, _, rest = bytes(buffer).partition(b"\r\n")
                    buffer = bytearray(rest)
                    if line == b"QUIT":
                        self._send(tls, connection, b"BYE\r\n")
                        with contextlib.suppress(OSError, ssl.SSLError):
                            tls.unwrap()
                        return
                    self._send(tls, connection, b"ECHO " + line + b"\r\n")


# --- curl --trace ---------------------------------------------------------------

def parse_curl_trace(path):
    """curl --trace output as a list of (kind, bytes), kind being e.g.
    "Send header", "Recv data", "Send SSL data"."""
    entries = []
    with open(path, "r", errors="replace") as f:
        lines = f.read().split("\n")
    header = re.compile(r"(=>|<=) (Send|Recv) ([A-Za-z ]+), (\d+) bytes \(0x[0-9a-f]+\)")
    current = None
    for line in lines:
        match = header.fullmatch(line)
        if match:
            current = [f"{match.group(2)} {match.group(3)}", bytearray(), int(match.group(4))]
            entries.append(current)
            continue
        if line.startswith("== ") or not line:
            current = None
            continue
        if current is not None and re.match(r"[0-9a-f]{4}: ", line):
            current[1] += bytes.fromhex(line[6:6 + 48])
    for kind, data, size in entries:
        if len(data) != size:
            raise AssertionError(f"curl trace: {kind} announced {size} bytes, parsed {len(data)}")
    return [(kind, bytes(data)) for kind, data, _ in entries]


def curl_plaintext(path):
    """(sent, received): the HTTP bytes of a curl --trace (headers and data;
    SSL data excluded)."""
    sent = bytearray()
    received = bytearray()
    for kind, data in parse_curl_trace(path):
        if kind in ("Send header", "Send data"):
            sent += data
        elif kind in ("Recv header", "Recv data"):
            received += data
    return bytes(sent), bytes(received)


# --- Checks -------------------------------------------------------------------

TLS_RECORD_HEADER = re.compile(rb"[\x14-\x17]\x03[\x00-\x04]", re.DOTALL)


def looks_like_tls_record(data):
    return bool(TLS_RECORD_HEADER.match(data[:3]))


def assert_no_tls_records(test, trace):
    """No event of `trace` carries TLS records (a ClientHello, application
    data records...): each event's data would start with a record header."""
    for index, event in enumerate(trace.events):
        if event.kind in ("read", "write"):
            test.assertFalse(looks_like_tls_record(event.data),
                             f"event {index} ({event.kind}, {len(event.data)} bytes) of {trace} is a TLS "
                             f"record, not plaintext: {event.data[:16].hex(' ')}")


def assert_whole(test, trace):
    test.assertFalse(trace.read_truncated, f"read_truncated in {trace}")
    test.assertFalse(trace.write_truncated, f"write_truncated in {trace}")
    test.assertFalse(any(e.truncated for e in trace.events), f"a truncated event in {trace}")


def assert_plaintext_trace(test, trace, sent, received):
    """The trace's data is exactly the plaintext `sent`/`received`, whole,
    without TLS records."""
    assert_no_tls_records(test, trace)
    test.assertEqual(trace.sent(), sent, f"written bytes of {trace}: {summary(trace.sent(), sent)}")
    test.assertEqual(trace.received(), received,
                     f"read bytes of {trace}: {summary(trace.received(), received)}")
    assert_whole(test, trace)


def summary(got, expected):
    """A short description of how two byte strings differ."""
    if got == expected:
        return "equal"
    prefix = 0
    while prefix < min(len(got), len(expected)) and got[prefix] == expected[prefix]:
        prefix += 1
    return (f"got {len(got)} bytes starting {got[:24]!r}, expected {len(expected)} bytes starting "
            f"{expected[:24]!r}; first difference at {prefix}")


def h2_frames(data):
    """Splits HTTP/2 frames (after the preface); raises if the bytes are not
    a whole number of frames. Returns [(type, flags, stream, payload)]."""
    frames = []
    offset = 0
    while offset < len(data):
        if offset + 9 > len(data):
            raise AssertionError(f"a partial HTTP/2 frame header at {offset} of {len(data)}")
        length = int.from_bytes(data[offset:offset + 3], "big")
        kind, flags = data[offset + 3], data[offset + 4]
        stream = int.from_bytes(data[offset + 5:offset + 9], "big") & 0x7FFFFFFF
        payload = data[offset + 9:offset + 9 + length]
        if len(payload) != length:
            raise AssertionError(f"HTTP/2 frame at {offset} announces {length} bytes, has {len(payload)}")
        if kind > 9:
            raise AssertionError(f"HTTP/2 frame at {offset} has unknown type {kind}")
        frames.append((kind, flags, stream, payload))
        offset += 9 + length
    return frames


@contextlib.contextmanager
def tcpdump(path, port, interface="lo"):
    """tcpdump on loopback for `port` into `path`, started before the block
    (ready when it says "listening on") and stopped with SIGINT after it."""
    stderr_path = path + ".stderr"
    stderr = open(stderr_path, "wb")
    process = subprocess.Popen([require_tool("tcpdump"), "-i", interface, "--immediate-mode", "-U", "-n", "-w", path,
                                f"tcp port {port}"], stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        def ready():
            with open(stderr_path, "rb") as f:
                text = f.read()
            if process.poll() is not None:
                raise AssertionError(f"tcpdump exited: {text!r}")
            return b"listening on" in text
        wait_until(ready, 30, "tcpdump to listen")
        yield process
    finally:
        time.sleep(0.2)  # let the last packets of the connection pass
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        stderr.close()


def maps_libraries(pid):
    """The file names mapped into process `pid`."""
    names = set()
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6:
                names.add(os.path.basename(parts[5]))
    return names


def local_port(test, stderr):
    """The "local_port N" line the test clients (mbedtls_client,
    wolfssl_client) write to stderr."""
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("local_port "):
            return int(line.split()[1])
    test.fail(f"no local_port line in {stderr!r}")


def assert_decrypted(test, trace, stderr=b""):
    """After the plaintext checks (whose failure shows the ciphertext): the
    shim claimed the connection's TLS, so neither the trace nor stderr says
    it was not decrypted."""
    test.assertFalse(trace.undecrypted_tls, f"{trace} says its TLS was not decrypted")
    test.assertNotIn(b"tapshim:", stderr)
