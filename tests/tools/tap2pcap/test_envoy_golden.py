"""Envoy's own tap2pcap test (data-plane-api tools/tap2pcap_test.py) against
`tap2pcap --envoy-compat`: `TZ=UTC tshark -r OUT -d tcp.port==10000,http2 -P`
must print the golden .txt byte for byte, for pcapng and pcap. The data is
read from tests/tools/tap2pcap/envoy_conformance; if it is missing the test fails.

Beyond Envoy's test: the packets equal, byte for byte and with the same
times, what text2pcap makes of Envoy's text dump (when text2pcap exists).
"""
import datetime
import os
import shutil
import struct
import subprocess
import tempfile
import unittest

import tshark_judge as judge

CONFORMANCE = os.environ.get("ENVOY_CONFORMANCE_DIR", "")
TRACE = os.path.join(CONFORMANCE, "tap2pcap_h2_ipv4.pb_text")
GOLDEN = os.path.join(CONFORMANCE, "tap2pcap_h2_ipv4.txt")


def pcapng_packets(path):
    """(timestamp, bytes) of every Enhanced Packet Block (if_tsresol=9)."""
    data = open(path, "rb").read()
    packets, offset = [], 0
    while offset < len(data):
        block_type, length = struct.unpack_from("<II", data, offset)
        if block_type == 6:
            _, high, low, captured, _ = struct.unpack_from("<IIIII", data, offset + 8)
            frame = data[offset + 28:offset + 28 + captured]
            packets.append(((high << 32) | low, frame))
        offset += length
    return packets


def envoy_text_dump(trace_path):
    """Envoy's tap2pcap.py step 4, for the golden trace (events by hand
    from the text format: timestamp, direction, as_bytes)."""
    text = open(trace_path).read()
    blocks = []
    for chunk in text.split("events {")[1:]:
        seconds = int(chunk.split("seconds:")[1].split()[0])
        nanos = int(chunk.split("nanos:")[1].split()[0])
        direction = "I" if "read {" in chunk else "O"
        literal = chunk.split('as_bytes: "', 1)[1]
        raw, i = bytearray(), 0
        while literal[i] != '"':
            c = literal[i]
            if c == "\\":
                n = literal[i + 1]
                if n in "01234567":
                    raw.append(int(literal[i + 1:i + 4], 8))
                    i += 4
                    continue
                raw.append({"n": 10, "r": 13, "t": 9}.get(n, ord(n)))
                i += 2
                continue
            raw.append(ord(c))
            i += 1
        when = datetime.datetime.utcfromtimestamp(seconds) + datetime.timedelta(
            microseconds=nanos // 1000)
        lines = [direction, when.strftime("%Y-%m-%d %H:%M:%S.%f")]
        for at in range(0, len(raw), 16):
            lines.append("%06x %s" % (at, " ".join("%02x" % b for b in raw[at:at + 16])))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


class EnvoyGoldenTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.path.isfile(TRACE) and os.path.isfile(GOLDEN),
                        f"Envoy's conformance data is missing from {CONFORMANCE!r}")
        self.dir = tempfile.mkdtemp(prefix="tap2pcap-golden-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def tshark_summary(self, capture):
        env = dict(os.environ, TZ="UTC")
        return judge.tshark(capture, "-d", "tcp.port==10000,http2", "-P", env=env)

    def test_golden_output_byte_for_byte(self):
        golden = open(GOLDEN).read()
        for extension in (".pcapng", ".pcap"):
            with self.subTest(extension=extension):
                out = os.path.join(self.dir, "envoy" + extension)
                judge.run_tap2pcap(["--envoy-compat", TRACE, out])
                self.assertEqual(self.tshark_summary(out), golden)

    def test_flags_after_the_files_too(self):
        out = os.path.join(self.dir, "late_flag.pcapng")
        judge.run_tap2pcap(["-o", out, "--envoy-compat", TRACE])
        self.assertEqual(self.tshark_summary(out), open(GOLDEN).read())

    def test_packets_equal_text2pcap_of_envoy_dump(self):
        text2pcap = shutil.which("text2pcap")
        if text2pcap is None:
            self.skipTest("text2pcap is not installed")
        dump = os.path.join(self.dir, "dump.txt")
        with open(dump, "w") as f:
            f.write(envoy_text_dump(TRACE))
        reference = os.path.join(self.dir, "reference.pcapng")
        subprocess.run([text2pcap, "-q", "-D", "-t", "%Y-%m-%d %H:%M:%S.%f", "-4",
                        "127.0.0.1,127.0.0.1", "-T", "53288,10000", dump, reference],
                       check=True, env=dict(os.environ, TZ="UTC"), capture_output=True)
        ours = os.path.join(self.dir, "ours.pcapng")
        judge.run_tap2pcap(["--envoy-compat", TRACE, ours])
        self.assertEqual(pcapng_packets(ours), pcapng_packets(reference))

    def test_default_mode_is_clean_tcp_with_the_same_bytes(self):
        out = os.path.join(self.dir, "default.pcapng")
        judge.run_tap2pcap([TRACE, out])
        self.assertEqual(judge.analysis_flags(out), "")
        [stream] = judge.follow_streams(out)
        dump = envoy_text_dump(TRACE)
        sent = {"I": b"", "O": b""}
        for block in dump.split("\n\n"):
            lines = block.strip().splitlines()
            sent[lines[0]] += bytes.fromhex("".join(l.split(" ", 1)[1] for l in lines[2:]))
        self.assertEqual(stream.sent_by("127.0.0.1:53288"), sent["I"])
        self.assertEqual(stream.sent_by("127.0.0.1:10000"), sent["O"])


if __name__ == "__main__":
    unittest.main()
