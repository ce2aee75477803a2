"""NSS under the shim, both sides (libnss3-tools).

Client: NSS's tstclnt (a non-blocking socket driven by PR_Poll, the
handshake inside its first PR_Send, PR_Recv for the answer, PR_Read of
stdin and PR_Write to stdout on NSPR descriptors that are not TLS) against
an untapped openssl s_server -rev, TLS 1.3 and 1.2, buffered and streamed:
the connection's one trace has its addresses and exactly tstclnt's stdin
as sent and its stdout as received, whole, with no TLS record as data.
stdin is a file: tstclnt reads stdin only when poll says POLLIN, which a
pipe at EOF never says (POLLHUP only), so with a pipe it spins forever.

Server: NSS's selfserv, with a throwaway certificate database made by
certutil and pk12util in the test's directory, under the shim; curl -k
as the untapped client: the accepted connection's trace holds the request
curl sent and the answer it received (selfserv echoes the request) in
plaintext. selfserv listens on an IPv6 socket (dual stack), so the trace's
addresses are 127.0.0.1 mapped to IPv6 where the machine has IPv6.

No key log: TAP_KEYLOG writes nothing for NSS, whose secrets no public call
hands out, and Debian's NSS is built without SSLKEYLOGFILE (docs/tls.md).
"""
import os
import signal
import subprocess
import unittest

from servers import server_process, wait_until
from tapshim_testlib import TapTestCase, free_port, load_traces
from tls_fixtures import (OPENSSL, assert_decrypted, assert_plaintext_trace, curl_plaintext,
                          make_certificate, require_tool, s_server, tls_env)


def nss_tool(name):
    """An NSS tool: on PATH (Debian's libnss3-tools), else /usr/lib/nss."""
    for path in (f"/usr/bin/{name}", f"/usr/lib/nss/{name}"):
        if os.access(path, os.X_OK):
            return path
    return require_tool(name)


def reversed_lines(lines):
    return b"".join(line.rstrip(b"\n")[::-1] + b"\n" for line in lines)


class TstclntTest(TapTestCase):

    def setUp(self):
        super().setUp()
        require_tool(OPENSSL)
        self.tstclnt = nss_tool("tstclnt")
        self.cert, self.key = make_certificate(self.dir)

    def exchange(self, name, lines, *options, **variables):
        """tstclnt under the shim sends `lines` and CLOSE to s_server -rev;
        returns (the trace, what it sent, what it received)."""
        stdin_path = os.path.join(self.dir, f"{name}.in")
        sent = b"".join(lines) + b"CLOSE\n"
        with open(stdin_path, "wb") as f:
            f.write(sent)
        prefix = os.path.join(self.dir, name)
        env = tls_env(prefix, **variables)
        env.pop("SSLKEYLOGFILE", None)
        with s_server(self.dir, self.cert, self.key, "-rev") as server, open(stdin_path, "rb") as stdin:
            # -o: the self-signed certificate is accepted; -D: no database.
            done = subprocess.run([self.tstclnt, "-h", "127.0.0.1", "-p", str(server.port), "-D", "-o", *options],
                                  stdin=stdin, env=env, capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, reversed_lines(lines), done.stderr)
        traces = load_traces(prefix)
        self.assertEqual(len(traces), 1, f"one connection, one trace (stdin and stdout are none): {traces}")
        [trace] = traces
        self.assertEqual(trace.remote, ("127.0.0.1", server.port), trace)
        self.assertEqual(trace.local[0], "127.0.0.1", trace)
        self.assertNotEqual(trace.local[1], server.port, trace)
        self.assertEqual(trace.process_name, "tstclnt")
        self.assertEqual(trace.origin, "OUTBOUND")
        self.assertEqual(trace.streamed, variables.get("TAP_STREAMING") == "1")
        assert_plaintext_trace(self, trace, sent, done.stdout)
        assert_decrypted(self, trace, done.stderr)

    def test_tls13(self):
        self.exchange("tls13", [b"hello NSS\n", b"a second line over TLS 1.3\n"])

    def test_tls12(self):
        self.exchange("tls12", [b"TLS 1.2 this time\n", b"and another line\n"], "-V", "tls1.2:tls1.2")

    def test_streamed(self):
        self.exchange("streamed", [b"streamed segments\n", b"x" * 300 + b"\n"], TAP_STREAMING="1")

    def test_many_lines(self):
        """~190 KiB each way: tstclnt reads stdin 4000 bytes at a time and
        its non-blocking PR_Send takes part of some."""
        lines = [(b"%05d " % i) + bytes(33 + (j * 7) % 90 for j in range(i % 300)) + b"\n"
                 for i in range(2000)]
        self.exchange("many", lines)


class SelfservTest(TapTestCase):

    def setUp(self):
        super().setUp()
        require_tool(OPENSSL)
        require_tool("curl")
        self.selfserv = nss_tool("selfserv")
        self.db = self.make_database()

    def make_database(self):
        """An NSS database in the test's directory holding a certificate
        and its key under the nickname "server"."""
        cert, key = make_certificate(self.dir)
        database = os.path.join(self.dir, "nssdb")
        os.mkdir(database)
        p12 = os.path.join(self.dir, "server.p12")
        for command in ([nss_tool("certutil"), "-N", "-d", f"sql:{database}", "--empty-password"],
                        [OPENSSL, "pkcs12", "-export", "-in", cert, "-inkey", key, "-out", p12, "-passout", "pass:",
                         "-name", "server"],
                        [nss_tool("pk12util"), "-i", p12, "-d", f"sql:{database}", "-W", ""]):
            done = subprocess.run(command, capture_output=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return database

    def test_selfserv_records_plaintext(self):
        port = free_port()
        env = tls_env(self.prefix)
        env.pop("SSLKEYLOGFILE", None)
        log = os.path.join(self.dir, "selfserv.out")
        trace_file = os.path.join(self.dir, "curl-trace")
        with server_process([self.selfserv, "-d", f"sql:{self.db}", "-n", "server", "-p", str(port)], port,
                            env=env, log_path=log, stop_signal=signal.SIGTERM) as server:
            done = subprocess.run(["curl", "-s", "-S", "-k", "--noproxy", "*", "--http1.1", "--trace", trace_file,
                                   "-w", "\n%{local_port}", f"https://127.0.0.1:{port}/selfserv"],
                                  capture_output=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            body, _, client_port = done.stdout.rpartition(b"\n")
            client_port = int(client_port)
            # selfserv closes each connection itself: the trace is written then.
            wait_until(lambda: [t for t in self.traces() if t.remote and t.remote[1] == client_port], 30,
                       "the trace of curl's connection")
        self.assertIn(b"GET /selfserv HTTP/1.1\r\n", body, "selfserv echoes the request")
        traces = [t for t in self.traces() if t.remote and t.remote[1] == client_port]
        self.assertEqual(len(traces), 1, self.traces())
        [trace] = traces
        self.assertIn(trace.local, (("127.0.0.1", port), ("::ffff:127.0.0.1", port)), trace)
        self.assertEqual(trace.remote[0], trace.local[0], trace)
        self.assertEqual(trace.process_name, "selfserv")
        self.assertEqual(trace.origin, "INBOUND")
        self.assertEqual(trace.pid, server.pid)
        sent, received = curl_plaintext(trace_file)
        assert_plaintext_trace(self, trace, sent=received, received=sent)
        with open(log, "rb") as f:
            assert_decrypted(self, trace, f.read())


if __name__ == "__main__":
    unittest.main()
