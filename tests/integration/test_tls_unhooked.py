"""TLS that no hook sees must not give a silent result of ciphertext. A
client with OpenSSL linked into its executable (static_tls_client.cc:
libssl.a, so SSL_write is not even in its dynamic symbols, which the node
check looks at) under the shim: the program runs as it would, its trace
holds the TLS records its socket carried, and one line on stderr says that
its TLS was not decrypted, and why. A program whose TLS the hooks do see
(openssl s_client) gets no such line. The static client runs with
TAP_PATCH=0: by default its functions are detoured and its TLS decrypted
(test_tls_patch_libssl_a.py)."""
import glob
import os
import shutil
import subprocess
import unittest

from tapshim_testlib import TapTestCase
from tls_fixtures import (OPENSSL, TLSEchoServer, looks_like_tls_record, make_certificate,
                          require_tool, tls_env)

MESSAGE = b"a secret the shim cannot read\n"
UNHOOKED_LINE = "connections carry TLS that no hooked call decrypted"


class UnhookedTlsTest(TapTestCase):

    def setUp(self):
        super().setUp()
        self.client = require_tool(os.environ["STATIC_TLS_CLIENT"])
        self.cert, self.key = make_certificate(self.dir)

    def test_static_openssl_is_said_once_and_traced_as_ciphertext(self):
        with TLSEchoServer(self.cert, self.key) as server:
            runs = []
            for _ in range(2):  # two connections: still one line
                runs.append(subprocess.run(
                    [self.client, str(server.port), self.cert, MESSAGE.decode()],
                    env=tls_env(self.prefix, TAP_PATCH="0"), capture_output=True, timeout=60))
        for done in runs:
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stdout, server.banner + MESSAGE, done.stderr)
            lines = [line for line in done.stderr.decode().splitlines()
                     if line.startswith("tapshim:")]
            self.assertEqual(len(lines), 1, lines)
            self.assertIn(UNHOOKED_LINE, lines[0])
            self.assertIn("static_tls_clie", lines[0])  # the process's name (comm)
            self.assertIn("inside the executable", lines[0])
        traces = self.traces()
        self.assertEqual(len(traces), 2, traces)
        # The traces say so too: tapshim's extension, shown by tapshim-view.
        for path in self.trace_files():
            view = subprocess.run([os.environ["TAPSHIM_VIEW"], path], capture_output=True,
                                  timeout=60)
            self.assertEqual(view.returncode, 0, view.stderr)
            self.assertIn(b"TLS-not-decrypted", view.stdout)
        for trace in traces:
            self.assertTrue(trace.undecrypted_tls, trace)
            first = trace.events[0]
            self.assertEqual(first.kind, "write")
            self.assertTrue(looks_like_tls_record(first.data), first.data[:8].hex(" "))
            self.assertNotIn(MESSAGE, trace.sent())
        # And tap2pcap's connection comment in the capture.
        capture = os.path.join(self.dir, "capture.pcapng")
        converted = subprocess.run([os.environ["TAP2PCAP"], "-o", capture, *self.trace_files()],
                                   capture_output=True, timeout=60)
        self.assertEqual(converted.returncode, 0, converted.stderr)
        comments = subprocess.run(["tshark", "-r", capture, "-Y", "frame.comment", "-T", "fields",
                                   "-e", "frame.comment"], capture_output=True, timeout=60)
        self.assertEqual(comments.stdout.count(b"TLS NOT DECRYPTED"), 2, comments.stdout)

    def test_a_loaded_unhooked_library_is_named(self):
        # The line names the TLS library it finds among the loaded objects by
        # its file name. No rustls build is at hand here: a library named as
        # rustls's C API is (librustls*.so), loaded beside the static client,
        # stands in for one; the name, not the contents, is what is matched.
        stand_in = os.path.join(self.dir, "librustls-ffi.so")
        shutil.copy(glob.glob("/usr/lib/*/libz.so.1")[0], stand_in)
        env = tls_env(self.prefix, TAP_PATCH="0")
        env["LD_PRELOAD"] += " " + stand_in
        with TLSEchoServer(self.cert, self.key) as server:
            done = subprocess.run([self.client, str(server.port), self.cert, MESSAGE.decode()],
                                  env=env, capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = [line for line in done.stderr.decode().splitlines() if line.startswith("tapshim:")]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(UNHOOKED_LINE, lines[0])
        self.assertIn("(rustls is loaded; tapshim hooks the OpenSSL, GnuTLS, mbedTLS, wolfSSL and NSS "
                      "libraries)", lines[0])

    def test_tls_the_hooks_see_gets_no_line(self):
        require_tool(OPENSSL)
        with TLSEchoServer(self.cert, self.key) as server:
            done = subprocess.run(
                [OPENSSL, "s_client", "-connect", f"127.0.0.1:{server.port}", "-servername",
                 "localhost", "-CAfile", self.cert, "-verify_return_error", "-quiet", "-no_ign_eof"],
                input=MESSAGE, env=tls_env(self.prefix), capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn(b"tapshim:", done.stderr)
        [trace] = self.traces()
        self.assertEqual(trace.sent(), MESSAGE)
        self.assertFalse(trace.undecrypted_tls)


if __name__ == "__main__":
    unittest.main()
