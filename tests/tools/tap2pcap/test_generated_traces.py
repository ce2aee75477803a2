"""Traces generated with libprotobuf (make_test_traces), in every format,
buffered and streamed, converted by tap2pcap and judged by tshark: each
stream reassembles to exactly the recorded bytes, in stream order by start
time, with no TCP analysis complaints; HTTP/2 decodes; comments mark
truncation and name the trace."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import tshark_judge as judge


class GeneratedTracesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tap2pcap-gen-")
        golden = os.path.join(os.environ["ENVOY_CONFORMANCE_DIR"], "tap2pcap_h2_ipv4.pb_text")
        subprocess.run([os.environ["MAKE_TEST_TRACES"], cls.dir, golden], check=True)
        with open(os.path.join(cls.dir, "manifest.json")) as f:
            cls.cases = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def convert(self, case):
        output = os.path.join(self.dir, case["output"])
        inputs = [os.path.join(self.dir, name) for name in case["inputs"]]
        if len(inputs) == 1:
            judge.run_tap2pcap([*case["flags"], inputs[0], output])
        else:
            judge.run_tap2pcap([*case["flags"], "-o", output, *inputs])
        return output

    def test_every_case_reassembles_byte_for_byte(self):
        self.assertGreater(len(self.cases), 20)
        for case in self.cases:
            with self.subTest(case=case["name"]):
                capture = self.convert(case)
                self.assertEqual(judge.analysis_flags(capture), "")
                streams = judge.follow_streams(capture)
                self.assertEqual(len(streams), len(case["streams"]))
                for stream, expected in zip(streams, case["streams"]):
                    judge.check_stream(self, stream, expected["local"], expected["remote"],
                                       bytes.fromhex(expected["rx"]), bytes.fromhex(expected["tx"]))
                    if expected["http2_port"]:
                        self.check_http2(capture, expected["http2_port"])

    def check_http2(self, capture, port):
        info = judge.tshark(capture, "-d", f"tcp.port=={port},http2", "-Y", "http2",
                            "-T", "fields", "-e", "_ws.col.Info")
        self.assertIn("Magic, SETTINGS[0], WINDOW_UPDATE[0], HEADERS[1]: GET /", info)
        self.assertIn("HEADERS[1]: 200 OK", info)
        self.assertIn("DATA[1], DATA[1] (text/html)", info)

    def case(self, name):
        return next(c for c in self.cases if c["name"] == name)

    def comments(self, capture):
        return judge.tshark(capture, "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment")

    def test_connection_comment_names_trace_and_process(self):
        capture = self.convert(self.case("http1_pb"))
        comments = self.comments(capture)
        self.assertIn("tap trace 1 from ", comments)
        self.assertIn("process curl pid 4242", comments)

    def test_truncation_is_marked_in_comments(self):
        capture = self.convert(self.case("truncated"))
        comments = self.comments(capture)
        self.assertIn("TRUNCATED: reads and writes cut by the tap's limits (3 events marked)", comments)
        self.assertIn("truncated write: only the first 1024 bytes were recorded", comments)
        self.assertIn("bytes missing: the trace has a read here", comments)

    def test_fake_endpoints_are_explained(self):
        comments = self.comments(self.convert(self.case("unix")))
        self.assertIn("local unix socket /run/app.sock shown as 198.18.0.1:10000", comments)
        self.assertIn("remote unix socket @abstract shown as 198.18.0.1:10001", comments)

    def test_timestamps_keep_nanoseconds(self):
        for name in ("http1_pb", "http1_classic_pcap"):
            with self.subTest(name=name):
                capture = self.convert(self.case(name))
                times = judge.tshark(capture, "-T", "fields", "-e", "frame.time_epoch").split()
                self.assertEqual(times[0], "1700000000.000000000")
                self.assertIn("1700000000.002000000", times)

    def test_file_magic(self):
        with open(self.convert(self.case("http1_classic_pcap")), "rb") as f:
            self.assertEqual(f.read(4), bytes.fromhex("4d3cb2a1"))
        with open(self.convert(self.case("http1_pb")), "rb") as f:
            self.assertEqual(f.read(4), bytes.fromhex("0a0d0d0a"))

    def test_merged_streams_are_in_time_order(self):
        capture = self.convert(self.case("merged"))
        out = judge.tshark(capture, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0", "-T", "fields",
                           "-e", "tcp.stream", "-e", "tcp.srcport")
        self.assertEqual([line.split() for line in out.splitlines()],
                         [["0", "45001"], ["1", "45002"], ["2", "45000"]])
        times = [float(t) for t in judge.tshark(capture, "-T", "fields", "-e",
                                                "frame.time_epoch").split()]
        self.assertEqual(times, sorted(times))


if __name__ == "__main__":
    unittest.main()
