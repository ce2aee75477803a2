"""mbedTLS 2.28 (Debian's libmbedtls) under the shim, both sides.

Client: mbedtls_client.cc (mbedtls_net_connect, mbedtls_ssl_set_bio with
mbedtls_net_send/recv, TLS 1.2) against a Python TLS echo server and
openssl s_server -www, untapped: the connection's one trace, buffered and
streamed, has the connection's addresses and exactly the plaintext the
server received and sent, whole, with no TLS record as data. With
TAP_KEYLOG the key log gets the session's CLIENT_RANDOM line: its client
random is the ClientHello's in a tcpdump capture, tshark decrypts the
capture with it, and a key export callback the program sets itself
(mbedtls_ssl_conf_export_keys_ext_cb) still gets the same line.

Server: lighttpd with mod_mbedtls (lighttpd-mod-mbedtls) under the shim,
curl as the untapped client: the accepted connection's trace holds the
requests curl sent and the responses, file bytes included, that it
received, in plaintext (HTTP/1.1 with keep-alive, and HTTP/2); with
TAP_KEYLOG, tshark decrypts a capture of lighttpd's connection.

Without mbedTLS at build time (libmbedtls-dev), the client tests skip.
"""
import os
import signal
import subprocess
import unittest

from servers import server_process, wait_until
from tapshim_testlib import TapTestCase, free_port, load_traces
from tls_fixtures import (H2_PREFACE, KEYLOG_LINE, OPENSSL, TLSEchoServer, assert_decrypted,
                          assert_no_tls_records, assert_plaintext_trace, assert_whole, curl_plaintext,
                          h2_frames, local_port, make_certificate, require_tool, s_server, tcpdump,
                          tls_env)

MBEDTLS_CLIENT = os.environ.get("MBEDTLS_CLIENT", "")
LIGHTTPD = "/usr/sbin/lighttpd"
MOD_MBEDTLS = "/usr/lib/lighttpd/mod_mbedtls.so"

REQUEST = b"a first part in plaintext\n"
# Over three records' worth, so writes and reads take several calls each.
LARGE = bytes(32 + (i * 7 + i // 251) % 90 for i in range(50000))
INDEX = b"<html><body>lighttpd with mbedTLS under tapshim</body></html>\n"
LARGE_FILE = bytes((i * 17 + i // 71) % 256 for i in range(150 * 1024))

LIGHTTPD_CONF = """\
server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dir}/error.log"
server.pid-file = "{dir}/lighttpd.pid"
server.modules += ("mod_mbedtls")
ssl.engine = "enable"
ssl.pemfile = "{pem}"
mimetype.assign = (".html" => "text/html", ".bin" => "application/octet-stream")
"""


def key_lines(test, path):
    """The key log's lines, each a complete NSS key log line."""
    test.assertTrue(os.path.exists(path), f"no key log at {path}")
    with open(path) as f:
        text = f.read()
    test.assertTrue(text.endswith("\n"), f"the key log does not end with a whole line: {text[-80:]!r}")
    lines = text.split("\n")[:-1]
    for line in lines:
        test.assertRegex(line, "^" + KEYLOG_LINE.pattern + "$", f"not a complete NSS key log line in {path}")
    return lines


def tshark(test, capture, port, *args):
    done = subprocess.run([require_tool("tshark"), "-n", "-r", capture, "-d", f"tcp.port=={port},tls", *args],
                          capture_output=True, timeout=120, env=dict(os.environ, HOME=os.path.dirname(capture)))
    test.assertEqual(done.returncode, 0, done.stderr)
    return done.stdout.decode()


def check_decryption(test, capture, port, keys, uri, code="200"):
    """tshark reads no HTTP in `capture` without `keys`, the request and
    response with them; returns the ClientHello's random (hex)."""
    test.assertEqual(tshark(test, capture, port, "-Y", "http", "-T", "fields", "-e", "http.request.uri").split(), [])
    # A body without Content-Length (s_server -www) would wait for the
    # connection's end to be reassembled: the head is enough.
    decrypted = tshark(test, capture, port, "-o", f"tls.keylog_file:{keys}", "-o", "http.desegment_body:FALSE",
                       "-Y", "http", "-T", "fields", "-e", "http.request.uri", "-e", "http.response.code").split()
    test.assertEqual(decrypted, [uri, code], f"tshark with {keys}")
    randoms = tshark(test, capture, port, "-Y", "tls.handshake.type == 1", "-T", "fields",
                     "-e", "tls.handshake.random").split()
    test.assertEqual(len(randoms), 1, randoms)
    return randoms[0].replace(":", "")


class MbedTlsClientTest(TapTestCase):

    def setUp(self):
        super().setUp()
        if not MBEDTLS_CLIENT:
            self.skipTest("built without mbedTLS (libmbedtls-dev): no mbedtls_client")
        self.cert, self.key = make_certificate(self.dir)

    def run_client(self, prefix, options, port, parts, stdin=None, **variables):
        """mbedtls_client under the shim: (its run, its local port)."""
        env = tls_env(prefix, **variables)
        env.pop("SSLKEYLOGFILE", None)
        done = subprocess.run([MBEDTLS_CLIENT, *options, str(port), *parts], input=stdin, env=env,
                              capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done, local_port(self, done.stderr)

    def only_trace(self, prefix, server_port, client_port):
        traces = load_traces(prefix)
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        [trace] = traces
        self.assertEqual(trace.remote, ("127.0.0.1", server_port), trace)
        self.assertEqual(trace.local, ("127.0.0.1", client_port), trace)
        self.assertEqual(trace.process_name, "mbedtls_client")
        self.assertEqual(trace.origin, "OUTBOUND")
        return trace

    def echo(self, streaming):
        """A request in two parts (one small, one of several records), then
        close_notify; the banner and the echo come back until the server's
        close_notify."""
        prefix = os.path.join(self.dir, f"echo{streaming}")
        with TLSEchoServer(self.cert, self.key) as server:
            done, port = self.run_client(prefix, ["--cafile", self.cert, "--shut"], server.port, [REQUEST, LARGE],
                                         TAP_STREAMING=streaming)
            [connection] = server.wait_closed(1)
        self.assertEqual(server.errors, [])
        self.assertEqual(bytes(connection.received), REQUEST + LARGE)
        self.assertEqual(done.stdout, bytes(connection.sent))
        self.assertEqual(done.stdout, server.banner + REQUEST + LARGE)
        trace = self.only_trace(prefix, server.port, port)
        self.assertEqual(trace.streamed, streaming == "1")
        assert_plaintext_trace(self, trace, bytes(connection.received), bytes(connection.sent))
        # The first event is the first mbedtls_ssl_write, whole.
        self.assertEqual((trace.events[0].kind, trace.events[0].data), ("write", REQUEST), trace.events[:1])
        assert_decrypted(self, trace, done.stderr)

    def test_echo_buffered(self):
        self.echo("0")

    def test_echo_streamed(self):
        self.echo("1")

    def test_s_server_www_without_verification(self):
        """No CA (MBEDTLS_SSL_VERIFY_NONE), the request from stdin, and the
        server ends the connection after its answer."""
        request = b"GET /mbedtls HTTP/1.0\r\nHost: localhost\r\n\r\n"
        prefix = os.path.join(self.dir, "www")
        require_tool(OPENSSL)
        with s_server(self.dir, self.cert, self.key, "-www", "-tls1_2") as server:
            done, port = self.run_client(prefix, [], server.port, [], stdin=request)
        self.assertTrue(done.stdout.startswith(b"HTTP/1.0 200 ok\r\n"), done.stdout[:100])
        trace = self.only_trace(prefix, server.port, port)
        assert_plaintext_trace(self, trace, request, done.stdout)
        assert_decrypted(self, trace, done.stderr)

    def test_keylog_decrypts_capture_and_chains_the_programs_own(self):
        require_tool(OPENSSL)
        keys = os.path.join(self.dir, "keys")
        own = os.path.join(self.dir, "own-keys")
        capture = os.path.join(self.dir, "mbedtls.pcap")
        prefix = os.path.join(self.dir, "keylog")
        request = b"GET /tapshim-keylog HTTP/1.0\r\nHost: localhost\r\n\r\n"
        with s_server(self.dir, self.cert, self.key, "-www") as server:
            with tcpdump(capture, server.port):
                done, port = self.run_client(prefix, ["--cafile", self.cert, "--keylog", own], server.port,
                                             [request], TAP_KEYLOG=keys)
        self.assertTrue(done.stdout.startswith(b"HTTP/1.0 200 ok\r\n"), done.stdout[:100])
        lines = key_lines(self, keys)
        self.assertEqual([line.split()[0] for line in lines], ["CLIENT_RANDOM"], lines)
        self.assertEqual(len(lines[0].split()[2]), 96, "a TLS 1.2 master secret is 48 bytes")
        # The program's own callback, chained behind the shim's, got the same.
        self.assertEqual(key_lines(self, own), lines)
        client_random = check_decryption(self, capture, server.port, keys, "/tapshim-keylog")
        self.assertEqual(lines[0].split()[1], client_random)
        trace = self.only_trace(prefix, server.port, port)
        assert_plaintext_trace(self, trace, request, done.stdout)
        assert_decrypted(self, trace, done.stderr)


class Lighttpd:
    """lighttpd with mod_mbedtls serving `files` over TLS on a free loopback
    port, under the shim with `env`; use as a context manager."""

    def __init__(self, directory, files, env):
        self.dir = os.path.join(directory, "lighttpd")
        self.root = os.path.join(self.dir, "www")
        os.makedirs(self.root)
        for name, content in files.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(content)
        self.cert, key = make_certificate(self.dir)
        pem = os.path.join(self.dir, "server.pem")
        with open(pem, "wb") as out:
            for path in (self.cert, key):
                with open(path, "rb") as f:
                    out.write(f.read())
        self.port = free_port()
        self.conf = os.path.join(self.dir, "lighttpd.conf")
        with open(self.conf, "w") as f:
            f.write(LIGHTTPD_CONF.format(root=self.root, port=self.port, dir=self.dir, pem=pem))
        self.env = env
        self.log = os.path.join(self.dir, "lighttpd.out")

    def __enter__(self):
        self._context = server_process([LIGHTTPD, "-D", "-f", self.conf], self.port, env=self.env,
                                       log_path=self.log, stop_signal=signal.SIGINT)
        self.process = self._context.__enter__()
        return self

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)

    def output(self):
        text = b""
        for name in ("lighttpd.out", "error.log"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    text += f.read()
        return text


class LighttpdServerTest(TapTestCase):

    def setUp(self):
        super().setUp()
        require_tool(LIGHTTPD)
        require_tool("curl")
        if not os.path.exists(MOD_MBEDTLS):
            raise AssertionError(f"{MOD_MBEDTLS} is not installed (lighttpd-mod-mbedtls; scripts/setup installs it)")

    def curl(self, server, options, *paths):
        """curl -k (untapped) getting `paths` on one connection: (its local
        port, its --trace file)."""
        trace_file = os.path.join(self.dir, f"curl-trace-{len(os.listdir(self.dir))}")
        urls = []
        for path in paths:
            urls += ["-o", os.devnull, f"https://127.0.0.1:{server.port}{path}"]
        done = subprocess.run(["curl", "-s", "-S", "-k", "--fail", "--noproxy", "*", "--trace", trace_file,
                               "-w", "%{local_port}\n", *options, *urls], capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        ports = {int(line) for line in done.stdout.split()}
        self.assertEqual(len(ports), 1, f"one connection for all of {paths}: {ports}")
        return ports.pop(), trace_file

    def server_trace(self, server, port):
        traces = [t for t in self.traces() if t.remote == ("127.0.0.1", port)]
        self.assertEqual(len(traces), 1, f"one trace of curl's connection from port {port}: {self.traces()}")
        [trace] = traces
        self.assertEqual(trace.local, ("127.0.0.1", server.port), trace)
        self.assertEqual(trace.process_name, "lighttpd")
        self.assertEqual(trace.origin, "INBOUND")
        self.assertEqual(trace.pid, server.process.pid)
        return trace

    def test_http1_and_http2_in_plaintext(self):
        files = {"index.html": INDEX, "large.bin": LARGE_FILE}
        with Lighttpd(self.dir, files, tls_env(self.prefix)) as server:
            # Two requests on one keep-alive connection.
            h1_port, h1_trace = self.curl(server, ["--http1.1"], "/index.html", "/large.bin")
            h2_port, _ = self.curl(server, ["--http2"], "/large.bin")
            wait_until(lambda: len(self.trace_files()) >= 3, 30, "the traces of curl's two connections and the probe")
        self.assertEqual(server.process.returncode, 0, server.output())

        trace = self.server_trace(server, h1_port)
        sent, received = curl_plaintext(h1_trace)
        self.assertIn(INDEX, received)
        self.assertTrue(received.endswith(LARGE_FILE), "curl got the large file last")
        assert_plaintext_trace(self, trace, sent=received, received=sent)
        assert_decrypted(self, trace, server.output())

        trace = self.server_trace(server, h2_port)
        assert_no_tls_records(self, trace)
        assert_whole(self, trace)
        received = trace.received()
        self.assertTrue(received.startswith(H2_PREFACE), received[:32])
        h2_frames(received[len(H2_PREFACE):])
        data = b"".join(payload for kind, _, stream, payload in h2_frames(trace.sent()) if kind == 0 and stream)
        self.assertEqual(data, LARGE_FILE, "the DATA frames lighttpd sent carry the file")
        assert_decrypted(self, trace)

    def test_keylog_decrypts_capture(self):
        keys = os.path.join(self.dir, "keys")
        capture = os.path.join(self.dir, "lighttpd.pcap")
        env = tls_env(self.prefix, TAP_KEYLOG=keys)
        env.pop("SSLKEYLOGFILE", None)
        with Lighttpd(self.dir, {"index.html": INDEX}, env) as server:
            with tcpdump(capture, server.port):
                port, trace_file = self.curl(server, ["--http1.1"], "/index.html")
            wait_until(lambda: len(self.trace_files()) >= 2, 30, "the traces of curl's connection and the probe")
        lines = key_lines(self, keys)
        self.assertEqual([line.split()[0] for line in lines], ["CLIENT_RANDOM"], lines)
        client_random = check_decryption(self, capture, server.port, keys, "/index.html")
        self.assertEqual(lines[0].split()[1], client_random)
        sent, received = curl_plaintext(trace_file)
        trace = self.server_trace(server, port)
        assert_plaintext_trace(self, trace, sent=received, received=sent)
        assert_decrypted(self, trace, server.output())


if __name__ == "__main__":
    unittest.main()
