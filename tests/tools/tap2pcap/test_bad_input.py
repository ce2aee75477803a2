"""Bad input: one clear line on stderr naming the file, a non-zero exit,
no crash, and no capture (nor temporary file) left behind."""
import os
import shutil
import subprocess
import tempfile
import unittest

import tshark_judge as judge


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.traces = tempfile.mkdtemp(prefix="tap2pcap-bad-src-")
        golden = os.path.join(os.environ["ENVOY_CONFORMANCE_DIR"], "tap2pcap_h2_ipv4.pb_text")
        subprocess.run([os.environ["MAKE_TEST_TRACES"], cls.traces, golden], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.traces, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tap2pcap-bad-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def cut(self, name, keep):
        data = open(os.path.join(self.traces, name), "rb").read()
        return self.write("cut_" + name, data[:keep if keep > 0 else len(data) + keep])

    def assert_rejected(self, args, names, expect=None):
        out = os.path.join(self.dir, "out.pcapng")
        if not any(a.endswith((".pcap", ".pcapng", ".cap")) for a in args):
            args = [*args, out]
        done = judge.run_tap2pcap(args, check=False)
        self.assertNotIn(done.returncode, (0,), done.stderr)
        self.assertGreater(done.returncode, 0, "killed by a signal")
        lines = done.stderr.splitlines()
        self.assertEqual(len(lines), 1 if done.returncode == 1 else len(lines), done.stderr)
        self.assertIn(names, lines[0])
        if expect:
            self.assertIn(expect, lines[0])
        leftovers = [f for f in os.listdir(self.dir) if f.startswith(".") or f.startswith("out.")]
        self.assertEqual(leftovers, [])
        return lines[0]

    def test_random_bytes(self):
        path = self.write("noise.pb", bytes(range(256)) * 4)
        self.assert_rejected([path], path, "not a")

    def test_text_that_is_not_a_trace(self):
        for name, data in (("hello.pb_text", b"hello world\n"),
                           ("wrong.pb_text", b"socket_buffered_trace { no_such_field: 1 }\n"),
                           ("array.json", b"[1, 2, 3]\n"),
                           ("object.json", b'{"x": 1}\n'),
                           ("html.json", b"<html></html>\n")):
            with self.subTest(name=name):
                path = self.write(name, data)
                self.assert_rejected([path], path)

    def test_cut_off_files(self):
        for name, keep in (("http1.pb", -7), ("big.pb_length_delimited", 100000),
                           ("http1.pb_text", -30), ("http1.json", -40),
                           ("h2_v6_streamed.pb_length_delimited", -3)):
            with self.subTest(name=name):
                path = self.cut(name, keep)
                self.assert_rejected([path], path)

    def test_empty_file(self):
        path = self.write("empty.pb", b"")
        self.assert_rejected([path], path, "holds no trace")

    def test_unknown_input_extension(self):
        path = self.write("trace.txt", open(os.path.join(self.traces, "http1.pb"), "rb").read())
        self.assert_rejected([path], path, "unknown trace extension")

    def test_unknown_output_extension(self):
        path = os.path.join(self.traces, "http1.pb")
        out = os.path.join(self.dir, "out.cap")
        done = judge.run_tap2pcap([path, out], check=False)
        self.assertEqual(done.returncode, 2)
        self.assertIn("out.cap: unknown capture extension '.cap'", done.stderr.splitlines()[0])
        self.assertFalse(os.path.exists(out))

    def test_missing_and_unreadable_files(self):
        missing = os.path.join(self.dir, "missing.pb")
        self.assert_rejected([missing], missing, "cannot open")
        directory = os.path.join(self.dir, "dir.pb")
        os.mkdir(directory)
        self.assert_rejected([directory], directory, "not a regular file")
        os.rmdir(directory)

    def test_one_bad_file_among_good_ones_names_it(self):
        good = os.path.join(self.traces, "http1.pb")
        bad = self.write("bad.json", b'{"socket_buffered_trace": {"events": [')
        out = os.path.join(self.dir, "out.pcapng")
        line = self.assert_rejected(["-o", out, good, bad], bad)
        self.assertNotIn(good, line)

    def test_existing_capture_is_kept_on_failure(self):
        out = os.path.join(self.traces, "keep.pcapng")
        with open(out, "wb") as f:
            f.write(b"previous")
        bad = self.write("bad.pb", b"\x1a\x05ab")
        done = judge.run_tap2pcap([bad, out], check=False)
        self.assertEqual(done.returncode, 1)
        self.assertEqual(open(out, "rb").read(), b"previous")

    def test_usage_errors(self):
        for args in ([], ["only_one.pb"], ["-o"], ["--envoy_compat", "a.pb", "b.pcapng"]):
            with self.subTest(args=args):
                done = judge.run_tap2pcap(args, check=False)
                self.assertEqual(done.returncode, 2)
                self.assertTrue(done.stderr.startswith("tap2pcap: "))


if __name__ == "__main__":
    unittest.main()
