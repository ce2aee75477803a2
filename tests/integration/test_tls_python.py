"""python3 under the shim as a TLS client: the `ssl` module (SSL_read_ex/
SSL_write_ex, libssl dlopen'ed with the _ssl extension), urllib, STARTTLS;
and a process that never uses TLS does not get libssl loaded.

Both interpreters: `python3` on PATH (here pyenv's, whose _ssl links the
system libssl) and Debian's /usr/bin/python3."""
import base64
import json
import os
import shutil
import subprocess
import textwrap
import unittest

from servers import RecordingHTTPServer
from tapshim_testlib import TapTestCase, load_traces, shim_env
from tls_fixtures import (NginxTLS, StartTLSServer, TLSEchoServer, assert_no_tls_records,
                          assert_plaintext_trace, make_certificate, require_tool, s_server,
                          tls_env)

INDEX = b"<html><body>python over TLS</body></html>\n"
LARGE = bytes((i * 11 + i // 89) % 256 for i in range(200 * 1024))
FILES = {"index.html": INDEX, "large.bin": LARGE}


def pythons():
    """(label, path) of the interpreters under test; both must exist."""
    on_path = shutil.which("python3")
    if not on_path:
        raise AssertionError("no python3 on PATH")
    return [("python3 on PATH", on_path), ("/usr/bin/python3", require_tool("/usr/bin/python3"))]


def run_python(test, python, script, args, env, timeout=120):
    done = subprocess.run([python, "-c", script, *map(str, args)], env=env, capture_output=True,
                          timeout=timeout)
    test.assertEqual(done.returncode, 0, done.stderr.decode(errors="replace"))
    lines = [line for line in done.stdout.decode().splitlines() if line.startswith("{")]
    test.assertTrue(lines, done.stdout)
    return json.loads(lines[-1]), done


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text)


# Sends a request with sendall, reads to EOF with recv: prints the local
# port and exactly what went each way.
SOCKET_CLIENT = textwrap.dedent("""
    import base64, json, socket, ssl, sys
    port, cafile, request = int(sys.argv[1]), sys.argv[2], base64.b64decode(sys.argv[3])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    raw = socket.create_connection(("127.0.0.1", port), timeout=60)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        local = tls.getsockname()[1]
        tls.sendall(request)
        received = bytearray()
        while chunk := tls.recv(65536):
            received += chunk
        version = tls.version()
    print(json.dumps({"local": local, "version": version,
                      "received": base64.b64encode(received).decode()}))
""")

# urllib.request with an SSL context; the bytes handed to the SSL socket
# are recorded by wrapping SSLSocket's methods (http.client uses sendall,
# and recv_into through makefile()).
URLLIB_CLIENT = textwrap.dedent("""
    import base64, json, ssl, sys, urllib.request
    url, cafile = sys.argv[1], sys.argv[2]
    sent, received, ports = bytearray(), bytearray(), []
    real_sendall, real_recv_into = ssl.SSLSocket.sendall, ssl.SSLSocket.recv_into
    def sendall(self, data, flags=0):
        ports.append(self.getsockname()[1])
        sent.extend(data)
        return real_sendall(self, data, flags)
    def recv_into(self, buffer, nbytes=0, flags=0):
        n = real_recv_into(self, buffer, nbytes, flags)
        received.extend(memoryview(buffer)[:n])
        return n
    ssl.SSLSocket.sendall, ssl.SSLSocket.recv_into = sendall, recv_into
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    with urllib.request.urlopen(url, context=context, timeout=60) as response:
        body = response.read()
    print(json.dumps({"ports": sorted(set(ports)), "body": base64.b64encode(body).decode(),
                      "sent": base64.b64encode(sent).decode(),
                      "received": base64.b64encode(received).decode()}))
""")

# 1 MiB to the TLS echo server in 64 KiB sendall calls (several records
# each), each echo read back before the next (one thread: an SSL object is
# not for concurrent use).
ECHO_CLIENT = textwrap.dedent("""
    import json, socket, ssl, sys
    port, cafile, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    pattern = bytes((i * 7 + i // 251) % 256 for i in range(size))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    tls = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60),
                              server_hostname="localhost")
    banner = b""
    while not banner.endswith(b"\\n"):
        banner += tls.recv(1)
    echo = bytearray()
    for offset in range(0, size, 65536):
        tls.sendall(pattern[offset:offset + 65536])
        while len(echo) < min(size, offset + 65536):
            chunk = tls.recv(100000)
            assert chunk, len(echo)
            echo += chunk
    assert echo == pattern
    local = tls.getsockname()[1]
    tls.unwrap()
    tls.close()
    print(json.dumps({"local": local, "banner": banner.decode()}))
""")

# STARTTLS: plaintext first, then TLS on the same socket.
STARTTLS_CLIENT = textwrap.dedent("""
    import json, socket, ssl, sys
    port, cafile = int(sys.argv[1]), sys.argv[2]
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    local = sock.getsockname()[1]
    sock.sendall(b"STARTTLS\\r\\n")
    reply = b""
    while not reply.endswith(b"\\r\\n"):
        reply += sock.recv(1)
    assert reply == b"OK\\r\\n", reply
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    tls = context.wrap_socket(sock, server_hostname="localhost")
    received = bytearray()
    for line in (b"first secret line", b"second secret line", b"QUIT"):
        tls.sendall(line + b"\\r\\n")
        reply = b""
        while not reply.endswith(b"\\r\\n"):
            reply += tls.recv(1024)
        received += reply
        expected = b"BYE\\r\\n" if line == b"QUIT" else b"ECHO " + line + b"\\r\\n"
        assert reply == expected, reply
    tls.close()
    print(json.dumps({"local": local, "received": received.decode()}))
""")

# Never imports ssl: a plaintext exchange, then a look at its own mappings.
NO_TLS_CLIENT = textwrap.dedent("""
    import json, os, socket, sys
    port = int(sys.argv[1])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        local = sock.getsockname()[1]
        sock.sendall(b"GET /plain HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    with open("/proc/self/maps") as maps:
        mapped = sorted({os.path.basename(line.split()[5]) for line in maps if len(line.split()) >= 6})
    print(json.dumps({"local": local, "mapped": mapped, "modules": sorted(sys.modules),
                      "received": len(data)}))
""")

# A plaintext connection, then `import ssl` (libssl arrives by dlopen after
# the shim has already tapped a socket), then a TLS connection.
LATE_SSL_CLIENT = textwrap.dedent("""
    import base64, json, socket, sys
    plain_port, tls_port, cafile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    with socket.create_connection(("127.0.0.1", plain_port), timeout=60) as sock:
        plain_local = sock.getsockname()[1]
        sock.sendall(b"GET /plain HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
        while sock.recv(65536):
            pass
    assert "ssl" not in sys.modules and "_ssl" not in sys.modules
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    request = b"GET /index.html HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n"
    with context.wrap_socket(socket.create_connection(("127.0.0.1", tls_port), timeout=60),
                             server_hostname="localhost") as tls:
        tls_local = tls.getsockname()[1]
        tls.sendall(request)
        received = bytearray()
        while chunk := tls.recv(65536):
            received += chunk
    print(json.dumps({"plain_local": plain_local, "tls_local": tls_local,
                      "received": base64.b64encode(received).decode()}))
""")


# asyncio's TLS is a memory-BIO SSLObject: its TLS calls do no socket I/O;
# Python reads the socket itself and feeds the records with BIO_write.
ASYNCIO_CLIENT = textwrap.dedent("""
    import asyncio, base64, json, ssl, sys
    port, cert, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    pattern = bytes((i * 7 + i // 251) % 256 for i in range(size))
    async def main():
        context = ssl.create_default_context(cafile=cert)
        context.check_hostname = False
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        local = writer.get_extra_info("sockname")[1]
        received = await reader.readexactly(len(b"HELLO tapshim\\n"))
        writer.write(pattern)
        await writer.drain()
        received += await reader.readexactly(size)
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass
        print(json.dumps({"local": local, "received": base64.b64encode(received).decode()}))
    asyncio.run(main())
""")


class PythonTLSTest(TapTestCase):

    def client_trace(self, prefix, server_port, local_port):
        traces = load_traces(prefix)
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        [trace] = traces
        self.assertEqual(trace.remote, ("127.0.0.1", server_port), trace)
        self.assertEqual(trace.local, ("127.0.0.1", local_port), trace)
        return trace

    def test_ssl_socket_to_nginx(self):
        with NginxTLS(self.dir, FILES) as nginx:
            for index, (label, python) in enumerate(pythons()):
                for path, body in (("/index.html", INDEX), ("/large.bin", LARGE)):
                    with self.subTest(python=label, path=path):
                        prefix = os.path.join(self.dir, f"sock{index}{path.replace('/', '-')}")
                        request = (f"GET {path} HTTP/1.1\r\nHost: localhost:{nginx.port}\r\n"
                                   f"User-Agent: tapshim-python\r\nConnection: close\r\n\r\n").encode()
                        result, _ = run_python(self, python, SOCKET_CLIENT, [nginx.port, nginx.cert, b64(request)],
                                               tls_env(prefix))
                        received = unb64(result["received"])
                        self.assertTrue(received.startswith(b"HTTP/1.1 200 OK\r\n"), received[:100])
                        self.assertTrue(received.endswith(body))
                        trace = self.client_trace(prefix, nginx.port, result["local"])
                        assert_plaintext_trace(self, trace, request, received)
                        [line] = [entry for entry in nginx.wait_logged(1) if entry.remote_port == result["local"]]
                        self.assertEqual(line.request_length, len(request))
                        self.assertEqual(line.bytes_sent, len(received))

    def test_ssl_socket_to_s_server_www(self):
        cert, key = make_certificate(self.dir)
        request = b"GET / HTTP/1.0\r\n\r\n"
        with s_server(self.dir, cert, key, "-www") as server:
            for index, (label, python) in enumerate(pythons()):
                with self.subTest(python=label):
                    prefix = os.path.join(self.dir, f"www{index}")
                    result, _ = run_python(self, python, SOCKET_CLIENT, [server.port, cert, b64(request)],
                                           tls_env(prefix))
                    received = unb64(result["received"])
                    self.assertTrue(received.startswith(b"HTTP/1.0 200 ok\r\n"), received[:100])
                    trace = self.client_trace(prefix, server.port, result["local"])
                    assert_plaintext_trace(self, trace, request, received)

    def test_urllib_to_nginx(self):
        with NginxTLS(self.dir, FILES) as nginx:
            for index, (label, python) in enumerate(pythons()):
                with self.subTest(python=label):
                    prefix = os.path.join(self.dir, f"urllib{index}")
                    result, _ = run_python(self, python, URLLIB_CLIENT,
                                           [f"https://localhost:{nginx.port}/large.bin", nginx.cert],
                                           tls_env(prefix))
                    self.assertEqual(unb64(result["body"]), LARGE)
                    [local] = result["ports"]
                    sent, received = unb64(result["sent"]), unb64(result["received"])
                    self.assertTrue(sent.startswith(b"GET /large.bin HTTP/1.1\r\n"), sent)
                    self.assertTrue(received.endswith(LARGE))
                    trace = self.client_trace(prefix, nginx.port, local)
                    assert_plaintext_trace(self, trace, sent, received)
                    [line] = [entry for entry in nginx.wait_logged(index + 1) if entry.remote_port == local]
                    self.assertEqual(line.request_length, len(sent))
                    self.assertEqual(line.bytes_sent, len(received))

    def test_large_echo(self):
        """1 MiB each way through Python's SSL_write_ex/SSL_read_ex."""
        cert, key = make_certificate(self.dir)
        size = 1 << 20
        pattern = bytes((i * 7 + i // 251) % 256 for i in range(size))
        with TLSEchoServer(cert, key) as server:
            for index, (label, python) in enumerate(pythons()):
                with self.subTest(python=label):
                    prefix = os.path.join(self.dir, f"echo{index}")
                    result, _ = run_python(self, python, ECHO_CLIENT, [server.port, cert, size], tls_env(prefix))
                    server.wait_closed(index + 1)
                    connection = server.connection_from(result["local"])
                    self.assertEqual(bytes(connection.received), pattern)
                    trace = self.client_trace(prefix, server.port, result["local"])
                    assert_plaintext_trace(self, trace, pattern, server.banner + pattern)
            self.assertEqual(server.errors, [])

    def test_asyncio_memory_bio_lands_on_the_socket_trace(self):
        """The BIO_write of the bytes just read from the socket ties the
        session to its connection: one trace, TCP addresses, plaintext, no
        records (buffered and streamed)."""
        cert, key = make_certificate(self.dir)
        size = 100000
        pattern = bytes((i * 7 + i // 251) % 256 for i in range(size))
        with TLSEchoServer(cert, key) as server:
            runs = 0
            for index, (label, python) in enumerate(pythons()):
                for streaming in ("0", "1"):
                    with self.subTest(python=label, streaming=streaming):
                        prefix = os.path.join(self.dir, f"asyncio{index}{streaming}")
                        result, _ = run_python(self, python, ASYNCIO_CLIENT, [server.port, cert, size],
                                               tls_env(prefix, TAP_STREAMING=streaming))
                        runs += 1
                        server.wait_closed(runs)
                        self.assertEqual(unb64(result["received"]), server.banner + pattern)
                        trace = self.client_trace(prefix, server.port, result["local"])
                        self.assertEqual(trace.streamed, streaming == "1")
                        assert_plaintext_trace(self, trace, pattern, server.banner + pattern)

    def test_starttls_one_trace(self):
        cert, key = make_certificate(self.dir)
        with StartTLSServer(cert, key) as server:
            for index, (label, python) in enumerate(pythons()):
                with self.subTest(python=label):
                    prefix = os.path.join(self.dir, f"starttls{index}")
                    result, _ = run_python(self, python, STARTTLS_CLIENT, [server.port, cert], tls_env(prefix))
                    server.wait_closed(index + 1)
                    connection = server.connection_from(result["local"])
                    self.assertEqual(bytes(connection.sent), b"OK\r\n" + result["received"].encode())
                    trace = self.client_trace(prefix, server.port, result["local"])
                    # Client's view: it wrote what the server received, and read
                    # what the server sent; plaintext phase first.
                    assert_plaintext_trace(self, trace, bytes(connection.received), bytes(connection.sent))
                    # In order: STARTTLS written, OK read (the client reads it
                    # byte by byte), then the first line written over TLS.
                    runs = []
                    for event in trace.events:
                        if event.kind in ("read", "write"):
                            if runs and runs[-1][0] == event.kind:
                                runs[-1][1] += event.data
                            else:
                                runs.append([event.kind, bytearray(event.data)])
                    self.assertEqual([(kind, bytes(data)) for kind, data in runs[:3]],
                                     [("write", b"STARTTLS\r\n"), ("read", b"OK\r\n"),
                                      ("write", b"first secret line\r\n")], runs)
            self.assertEqual(server.errors, [])

    def test_starttls_under_a_tls_match(self):
        """TAP_MATCH naming `tls`: the plaintext start is held until TLS
        starts, then the one trace has the addresses, the plaintext before
        TLS and the TLS plaintext after; the rest of the expression still
        applies."""
        cert, key = make_certificate(self.dir)
        with StartTLSServer(cert, key) as server:
            cases = [({"TAP_MATCH": "tls"}, True),
                     ({"TAP_MATCH": f"tls and port {server.port}"}, True),
                     ({"TAP_MATCH": "tls", "TAP_STREAMING": "1"}, True),
                     ({"TAP_MATCH": f"tls and port {server.port}", "TAP_STREAMING": "1",
                       "TAP_MIN_STREAMED_SENT_BYTES": "100000"}, True),
                     ({"TAP_MATCH": f"tls and not port {server.port}"}, False)]
            for index, (variables, tapped) in enumerate(cases):
                with self.subTest(**variables):
                    prefix = os.path.join(self.dir, f"starttls-match{index}")
                    result, _ = run_python(self, pythons()[0][1], STARTTLS_CLIENT, [server.port, cert],
                                           tls_env(prefix, **variables))
                    server.wait_closed(index + 1)
                    if not tapped:
                        self.assertEqual(load_traces(prefix), [])
                        continue
                    connection = server.connection_from(result["local"])
                    trace = self.client_trace(prefix, server.port, result["local"])
                    self.assertEqual(trace.origin, "OUTBOUND", trace)
                    assert_plaintext_trace(self, trace, bytes(connection.received), bytes(connection.sent))
                    self.assertEqual(trace.events[0].kind, "write")
                    self.assertEqual(trace.events[0].data, b"STARTTLS\r\n")
            self.assertEqual(server.errors, [])

    def test_late_import_ssl(self):
        """libssl loaded by dlopen after the shim tapped a plaintext socket."""
        with RecordingHTTPServer({"/plain": b"plain body\n"}) as plain, NginxTLS(self.dir, FILES) as nginx:
            for index, (label, python) in enumerate(pythons()):
                with self.subTest(python=label):
                    prefix = os.path.join(self.dir, f"late{index}")
                    result, _ = run_python(self, python, LATE_SSL_CLIENT, [plain.port, nginx.port, nginx.cert],
                                           tls_env(prefix))
                    traces = load_traces(prefix)
                    self.assertEqual(len(traces), 2, traces)
                    by_remote = {t.remote[1]: t for t in traces}
                    self.assertEqual(set(by_remote), {plain.port, nginx.port}, traces)
                    self.assertEqual(by_remote[plain.port].local[1], result["plain_local"])
                    trace = by_remote[nginx.port]
                    self.assertEqual(trace.local, ("127.0.0.1", result["tls_local"]))
                    request = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                    assert_plaintext_trace(self, trace, request, unb64(result["received"]))

    def test_process_without_tls_does_not_load_libssl(self):
        """/usr/bin/python3 loads libssl only with `import ssl`: under the
        shim, a plaintext exchange must not bring it in (maps checked by the
        process itself, after its connection was tapped)."""
        with RecordingHTTPServer({"/plain": b"plain body\n"}) as server:
            for index, (label, python) in enumerate(pythons()):
                for tapped in (False, True):
                    with self.subTest(python=label, tapped=tapped):
                        prefix = os.path.join(self.dir, f"notls{index}{int(tapped)}")
                        env = shim_env(prefix) if tapped else dict(os.environ)
                        result, _ = run_python(self, python, NO_TLS_CLIENT, [server.port], env)
                        self.assertNotIn("ssl", result["modules"])
                        self.assertNotIn("_ssl", result["modules"])
                        tls_libraries = [name for name in result["mapped"]
                                         if name.startswith(("libssl", "libcrypto", "libgnutls"))]
                        self.assertEqual(tls_libraries, [], f"TLS libraries mapped (tapped={tapped})")
                        if tapped:
                            self.assertIn("libtapshim.so", result["mapped"])
                            [trace] = load_traces(prefix)
                            self.assertEqual(trace.local[1], result["local"])
                            self.assertTrue(trace.sent().startswith(b"GET /plain HTTP/1.1\r\n"))
                            assert_no_tls_records(self, trace)


if __name__ == "__main__":
    unittest.main()
