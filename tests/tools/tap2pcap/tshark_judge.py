"""tshark as the judge of tap2pcap's captures (standard library only).

Paths come from meson's environment: TAP2PCAP, MAKE_TEST_TRACES,
TAPSHIM_LIB, TRACE_TO_JSON, ENVOY_CONFORMANCE_DIR.
"""
import os
import re
import subprocess

TAP2PCAP = os.environ.get("TAP2PCAP", "")
TSHARK = "tshark"


def run_tap2pcap(args, check=True):
    done = subprocess.run([TAP2PCAP, *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"tap2pcap {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def tshark(capture, *args, env=None):
    done = subprocess.run([TSHARK, "-r", capture, *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise AssertionError(f"tshark -r {capture} {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def stream_ids(capture):
    out = tshark(capture, "-T", "fields", "-e", "tcp.stream")
    return sorted({int(line) for line in out.split() if line.strip()})


class Stream:
    """One `-z follow,tcp,raw,N` block: node 0 is the side that sent first."""

    def __init__(self, index, node0, node1, from0, from1):
        self.index, self.node0, self.node1 = index, node0, node1
        self.from0, self.from1 = from0, from1

    def sent_by(self, endpoint):
        if endpoint == self.node0:
            return self.from0
        if endpoint == self.node1:
            return self.from1
        raise AssertionError(f"stream {self.index}: {endpoint} is neither {self.node0} nor {self.node1}")

    def peer_of(self, endpoint):
        return self.node1 if endpoint == self.node0 else self.node0


def follow_streams(capture):
    """Every TCP stream's bytes in both directions, as tshark reassembles them."""
    ids = stream_ids(capture)
    if not ids:
        return []
    args = ["-q"]
    for i in ids:
        args += ["-z", f"follow,tcp,raw,{i}"]
    out = tshark(capture, *args)
    streams = []
    for block in out.split("=" * 67):
        match = re.search(r"Filter: tcp.stream eq (\d+)\nNode 0: (\S+)\nNode 1: (\S+)\n", block)
        if not match:
            continue
        from0, from1 = [], []
        for line in block[match.end():].splitlines():
            if not line.strip():
                continue
            (from1 if line.startswith("\t") else from0).append(bytes.fromhex(line.strip()))
        streams.append(Stream(int(match.group(1)), match.group(2), match.group(3),
                              b"".join(from0), b"".join(from1)))
    streams.sort(key=lambda s: s.index)
    return streams


def analysis_flags(capture):
    """tshark's complaints about the TCP conversations (should be none)."""
    return tshark(capture, "-Y", "tcp.analysis.flags").strip()


def check_stream(test, stream, local, remote, rx, tx):
    """The stream carries tx from local to remote and rx the other way.
    local/remote are "ip:port" strings, or None where tap2pcap invents them."""
    if local is not None:
        test.assertEqual(stream.sent_by(local), tx, f"stream {stream.index}: bytes written")
        test.assertEqual(stream.sent_by(stream.peer_of(local)), rx, f"stream {stream.index}: bytes read")
        if remote is not None:
            test.assertEqual(stream.peer_of(local), remote)
    elif remote is not None:
        test.assertEqual(stream.sent_by(remote), rx, f"stream {stream.index}: bytes read")
        test.assertEqual(stream.sent_by(stream.peer_of(remote)), tx, f"stream {stream.index}: bytes written")
    else:
        test.assertIn((stream.from0, stream.from1), [(tx, rx), (rx, tx)],
                      f"stream {stream.index}: bytes")
