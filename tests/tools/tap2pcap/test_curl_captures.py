"""Real traces: curl under libtapshim.so against python3 -m http.server on
loopback (IPv4 and IPv6). Each trace, alone and all merged, converts to a
capture in which tshark reassembles exactly the bytes that trace_to_json
(libprotobuf) decodes from the trace, with no TCP analysis complaints."""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

import tshark_judge as judge

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "integration"))
import tapshim_testlib as lib  # noqa: E402


class CurlCaptureTest(lib.TapTestCase):
    def run_curl(self, family, host):
        port = lib.free_port(family)
        www = os.path.join(self.dir, "www")
        os.makedirs(www, exist_ok=True)
        with open(os.path.join(www, "page.bin"), "wb") as f:
            f.write(os.urandom(200000))
        server = [sys.executable, "-m", "http.server", str(port), "--bind", host]
        with lib.background(server, cwd=www, port=port, host=host):
            for path in ("/page.bin", "/", "/missing"):
                url = f"http://{'[' + host + ']' if ':' in host else host}:{port}{path}"
                env = lib.shim_env(self.prefix, TAP_MAX_BUFFERED_RX_BYTES=10000000,
                                   TAP_MAX_BUFFERED_TX_BYTES=10000000)
                subprocess.run(["curl", "-s", "-o", os.devnull, url], env=env, check=True,
                               timeout=30)
        return port

    def check_capture(self, capture, traces):
        self.assertEqual(judge.analysis_flags(capture), "")
        streams = judge.follow_streams(capture)
        self.assertEqual(len(streams), len(traces))
        for trace in traces:
            local = self.endpoint(trace.local)
            [stream] = [s for s in streams if local in (s.node0, s.node1)]
            judge.check_stream(self, stream, local, self.endpoint(trace.remote),
                               trace.received(), trace.sent())

    @staticmethod
    def endpoint(address):
        host, port = address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def convert_and_check(self):
        traces = self.traces()
        self.assertEqual(len(traces), 3, traces)
        self.assertTrue(any(len(t.received()) > 200000 for t in traces))
        for trace in traces:
            for extension in (".pcapng", ".pcap"):
                capture = trace.path + extension
                judge.run_tap2pcap([trace.path, capture])
                self.check_capture(capture, [trace])
                # curl connected: the trace says so (tapshim's extension), so
                # the SYN comes from its side whatever the port numbers.
                syn = judge.tshark(capture, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0",
                                   "-T", "fields", "-e", "tcp.srcport")
                self.assertEqual(syn.split(), [str(trace.local[1])])
        merged = os.path.join(self.dir, "all.pcapng")
        judge.run_tap2pcap(["-o", merged, *[t.path for t in traces]])
        self.check_capture(merged, traces)
        comments = judge.tshark(merged, "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment")
        self.assertIn("process curl", comments)

    def test_curl_ipv4(self):
        self.run_curl(socket.AF_INET, "127.0.0.1")
        self.convert_and_check()

    def test_curl_ipv6(self):
        try:
            lib.free_port(socket.AF_INET6)
        except OSError:
            self.skipTest("no IPv6 loopback")
        self.run_curl(socket.AF_INET6, "::1")
        self.convert_and_check()


if __name__ == "__main__":
    unittest.main()
