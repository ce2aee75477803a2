"""A program whose SSL_write and SSL_read (its own, written in assembly)
begin with a relative jump and a relative call: the detour's decoder
refuses both. They are left alone, one line says so, naming each and why,
and the program prints and returns what it does untapped."""
import os
import subprocess
import unittest

from tapshim_testlib import TapTestCase, shim_env
from tls_fixtures import require_tool


class RefusedPrologueTest(TapTestCase):

    def test_refused_functions_are_left_alone(self):
        program = require_tool(os.environ["PATCH_REFUSED_PROGRAM"])
        untapped = subprocess.run([program], capture_output=True, timeout=60)
        tapped = subprocess.run([program], env=shim_env(self.prefix), capture_output=True, timeout=60)
        self.assertEqual(untapped.returncode, 0, untapped.stderr)
        self.assertEqual(untapped.stdout, b"SSL_write=42 SSL_read=7\n")
        self.assertEqual((tapped.returncode, tapped.stdout), (untapped.returncode, untapped.stdout))
        lines = tapped.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"^tapshim: patch_refused_p's built-in OpenSSL: left alone: ")
        self.assertIn("SSL_write (a relative branch or call at +0x0)", lines[0])
        self.assertIn("SSL_read (a relative branch or call at +0x0)", lines[0])
        # TAP_PATCH=0: not even examined.
        off = subprocess.run([program], env=shim_env(self.prefix, TAP_PATCH="0"), capture_output=True,
                             timeout=60)
        self.assertEqual((off.returncode, off.stdout, off.stderr), (0, untapped.stdout, b""))


if __name__ == "__main__":
    unittest.main()
