"""OpenSSL linked into a program of the project's own (Debian's libssl.a,
so SSL_write is only in the executable's .symtab): the shim finds its
functions there and detours them at load time. Plaintext lands on the
socket's trace, from the main thread, a thread started after the patch, a
forked child and an exec'd program (examined afresh); the same program
stripped keeps the warning, saying it is stripped; TAP_PATCH=0 keeps
today's warning and ciphertext."""
import os
import shutil
import subprocess
import unittest

from tapshim_testlib import TapTestCase
from tls_fixtures import (TLSEchoServer, assert_decrypted, assert_plaintext_trace, looks_like_tls_record,
                          make_certificate, require_tool, tls_env)

MESSAGE = b"a secret inside libssl.a\n"
UNHOOKED_LINE = "connections carry TLS that no hooked call decrypted"


class LibsslArchiveTest(TapTestCase):

    def setUp(self):
        super().setUp()
        self.client = require_tool(os.environ["STATIC_TLS_CLIENT"])
        self.cert, self.key = make_certificate(self.dir)

    def run_client(self, command, env):
        done = subprocess.run(command, env=env, capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def shim_lines(self, done):
        return [line for line in done.stderr.decode().splitlines() if line.startswith("tapshim:")]

    def assert_plaintext(self, server, done, count=1):
        self.assertEqual(done.stdout, (server.banner + MESSAGE) * count, done.stderr)
        # What the detour left alone (this libssl.a's SSL_read_ex and
        # SSL_write_ex begin with a call) is said; nothing says encrypted.
        for line in self.shim_lines(done):
            self.assertIn("built-in OpenSSL: left alone:", line)
        traces = self.traces()
        self.assertEqual(len(traces), count, traces)
        for trace in traces:
            self.assertEqual(trace.remote, ("127.0.0.1", server.port), trace)
            assert_plaintext_trace(self, trace, MESSAGE, server.banner + MESSAGE)
            self.assertFalse(trace.undecrypted_tls, trace)

    def test_unstripped_program_is_traced_in_plaintext(self):
        with TLSEchoServer(self.cert, self.key) as server:
            done = self.run_client([self.client, str(server.port), self.cert, MESSAGE.decode()],
                                   tls_env(self.prefix))
        self.assert_plaintext(server, done)

    def test_thread_started_after_the_patch(self):
        with TLSEchoServer(self.cert, self.key) as server:
            done = self.run_client([self.client, "thread", str(server.port), self.cert, MESSAGE.decode()],
                                   tls_env(self.prefix))
        self.assert_plaintext(server, done)

    def test_forked_child(self):
        with TLSEchoServer(self.cert, self.key) as server:
            done = self.run_client([self.client, "fork", str(server.port), self.cert, MESSAGE.decode()],
                                   tls_env(self.prefix))
        self.assert_plaintext(server, done)
        [trace] = self.traces()
        self.assertNotEqual(trace.pid, 0)

    def test_exec_of_another_program(self):
        with TLSEchoServer(self.cert, self.key) as server:
            done = self.run_client([self.client, "exec", self.client, str(server.port), self.cert,
                                    MESSAGE.decode()], tls_env(self.prefix))
        self.assert_plaintext(server, done)
        [trace] = self.traces()
        self.assertEqual(trace.process_name, "static_tls_clie")

    def test_stripped_program_keeps_the_warning(self):
        stripped = os.path.join(self.dir, "stripped_tls_client")
        objcopy = require_tool("objcopy")
        subprocess.run([objcopy, "--strip-all", self.client, stripped], check=True, timeout=60)
        with TLSEchoServer(self.cert, self.key) as server:
            done = self.run_client([stripped, str(server.port), self.cert, MESSAGE.decode()], tls_env(self.prefix))
        self.assertEqual(done.stdout, server.banner + MESSAGE)
        lines = self.shim_lines(done)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(UNHOOKED_LINE, lines[0])
        self.assertIn("inside the executable, which is stripped", lines[0])
        [trace] = self.traces()
        self.assertTrue(trace.undecrypted_tls, trace)
        self.assertTrue(looks_like_tls_record(trace.events[0].data), trace.events[0].data[:8].hex(" "))
        self.assertNotIn(MESSAGE, trace.sent())

    def test_patch_off_is_todays_behaviour(self):
        with TLSEchoServer(self.cert, self.key) as server:
            done = self.run_client([self.client, str(server.port), self.cert, MESSAGE.decode()],
                                   tls_env(self.prefix, TAP_PATCH="0"))
        self.assertEqual(done.stdout, server.banner + MESSAGE)
        lines = self.shim_lines(done)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(UNHOOKED_LINE, lines[0])
        self.assertNotIn("stripped", lines[0])
        [trace] = self.traces()
        self.assertTrue(trace.undecrypted_tls, trace)
        self.assertNotIn(MESSAGE, trace.sent())


if __name__ == "__main__":
    unittest.main()
