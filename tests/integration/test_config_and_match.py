"""Envoy's own tap configuration (TAP_CONFIG) and tcpdump-style match
expressions (TAP_MATCH) on real connections: a Python client under the
shim talks to several untapped echo servers (IPv4, a second IPv4 port,
IPv6, a unix stream socket), and the traces show which connections were
selected."""
import json
import os
import socket
import subprocess
import textwrap
import threading
import unittest

from servers import PYTHON, EchoServer
from tapshim_testlib import TapTestCase, shim_env

# Connects to each target in turn: ("tcp", host, port) or ("unix", path),
# sends "hello <i>", reads the echo, closes.
CLIENT = textwrap.dedent("""
    import json, socket, sys
    for i, target in enumerate(json.loads(sys.argv[1])):
        if target[0] == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(target[1])
        else:
            sock = socket.create_connection((target[1], target[2]), timeout=30)
        message = b"hello %d" % i
        sock.sendall(message)
        got = b""
        while len(got) < len(message):
            chunk = sock.recv(100)
            assert chunk, "echo closed early"
            got += chunk
        assert got == message, got
        sock.close()
    print("done")
""")


class UnixEchoServer:
    """An untapped echo server on a unix stream socket."""

    def __init__(self, path):
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with sock:
                while data := sock.recv(4096):
                    sock.sendall(data)

    def close(self):
        self.listener.close()


class MatchTest(TapTestCase):

    def setUp(self):
        super().setUp()
        self.servers = [EchoServer(), EchoServer(), EchoServer(host="::1")]
        for server in self.servers:
            server.__enter__()
            self.addCleanup(server.__exit__, None, None, None)
        self.unix_path = os.path.join(self.dir, "echo.sock")
        self.unix = UnixEchoServer(self.unix_path)
        self.addCleanup(self.unix.close)
        a, b, c = self.servers
        self.targets = {"a": ["tcp", "127.0.0.1", a.port], "b": ["tcp", "127.0.0.1", b.port],
                        "c": ["tcp", "::1", c.port], "u": ["unix", self.unix_path]}

    def tapped(self, expression=None, **variables):
        """Runs the client under the shim; returns which targets were traced."""
        for path in self.trace_files():
            os.unlink(path)
        if expression is not None:
            variables["TAP_MATCH"] = expression
        done = subprocess.run([PYTHON, "-c", CLIENT, json.dumps(list(self.targets.values()))],
                              env=shim_env(self.prefix, **variables), capture_output=True,
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, b"done\n")
        self.assertEqual(done.stderr, b"")
        names = []
        for trace in self.traces():
            for name, target in self.targets.items():
                if target[0] == "unix" and trace.remote == ("pipe", self.unix_path):
                    names.append(name)
                elif target[0] == "tcp" and trace.remote == (target[1], target[2]):
                    names.append(name)
            self.assertEqual(len(trace.sent()), 7, trace)
        return sorted(names)

    def test_every_tcp_connection_by_default_and_no_unix(self):
        self.assertEqual(self.tapped(), ["a", "b", "c"])

    def test_port_selects_one_server(self):
        a, b, c = (t[2] for t in list(self.targets.values())[:3])
        self.assertEqual(self.tapped(f"port {a}"), ["a"])
        self.assertEqual(self.tapped(f"dst port {a} or {b}"), ["a", "b"])  # tcpdump's shorthand
        self.assertEqual(self.tapped(f"src port {a}"), [])  # src is this client
        # dst: the client's own ephemeral ports may fall in the range too.
        self.assertEqual(self.tapped(f"dst portrange {min(a, b)}-{max(a, b)}"),
                         sorted(n for n, t in self.targets.items()
                                if t[0] == "tcp" and min(a, b) <= t[2] <= max(a, b)))

    def test_address_families_and_hosts(self):
        self.assertEqual(self.tapped("ip6"), ["c"])
        self.assertEqual(self.tapped("ip and tcp"), ["a", "b"])
        self.assertEqual(self.tapped("dst host ::1"), ["c"])
        self.assertEqual(self.tapped("net 127.0.0.0/8"), ["a", "b"])
        self.assertEqual(self.tapped("not ip6"), ["a", "b"])

    def test_unix_sockets_only_when_named(self):
        self.assertEqual(self.tapped("unix"), ["u"])
        a = self.targets["a"][2]
        self.assertEqual(self.tapped(f"unix or port {a}"), ["a", "u"])
        [trace] = [t for t in self.traces() if t.remote[0] == "pipe"]
        self.assertEqual(trace.received(), b"hello 3")

    def test_direction_process_and_tls(self):
        self.assertEqual(self.tapped("outbound"), ["a", "b", "c"])
        self.assertEqual(self.tapped("inbound"), [])
        self.assertEqual(self.tapped("proc python3"), ["a", "b", "c"])
        self.assertEqual(self.tapped("proc curl"), [])
        # Plain connections: tls is false once their first bytes are seen,
        # and an undecided connection leaves no file behind.
        self.assertEqual(self.tapped("tls"), [])
        self.assertEqual(self.trace_files(), [])
        self.assertEqual(self.tapped("not tls"), ["a", "b", "c"])

    def test_streamed_traces_are_selected_the_same_way(self):
        a = self.targets["a"][2]
        self.assertEqual(self.tapped(f"port {a}", TAP_STREAMING=1), ["a"])


ENVOY_DOCS_YAML = """\
transport_socket:
  name: envoy.transport_sockets.tap
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tap.v3.Tap
    common_config:
      static_config:
        match_config:
          any_match: true
        output_config:
          sinks:
            - format: PROTO_BINARY
              file_per_tap:
                path_prefix: {prefix}
    transport_socket:
      name: envoy.transport_sockets.raw_buffer
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer
"""


class EnvoyConfigTest(TapTestCase):

    def run_client(self, config_text, name="tap.yaml", **variables):
        path = os.path.join(self.dir, name)
        with open(path, "w") as config:
            config.write(config_text)
        env = shim_env(None, TAP_CONFIG=path, **variables)
        with EchoServer() as server:
            target = [["tcp", "127.0.0.1", server.port]]
            done = subprocess.run([PYTHON, "-c", CLIENT, json.dumps(target)], env=env,
                                  capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, b"done\n")
        return done.stderr.decode(), server.port

    def test_envoy_docs_yaml_taps_as_envoy_would(self):
        stderr, port = self.run_client(ENVOY_DOCS_YAML.format(prefix=self.prefix))
        self.assertEqual(stderr, "")
        [trace] = self.traces()
        self.assertTrue(trace.path.endswith(".pb"))
        self.assertFalse(trace.streamed)
        self.assertEqual(trace.remote, ("127.0.0.1", port))
        self.assertEqual((trace.sent(), trace.received()), (b"hello 0", b"hello 0"))

    def test_the_same_config_in_json_with_lower_camel_names(self):
        config = {"typedConfig": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tap.v3.Tap",
            "commonConfig": {"staticConfig": {
                "match": {"anyMatch": True},
                "outputConfig": {"sinks": [{"format": "PROTO_TEXT",
                                            "filePerTap": {"pathPrefix": self.prefix}}],
                                 "streaming": True, "maxBufferedRxBytes": 3}}}},
            "name": "envoy.transport_sockets.tap"}
        stderr, _ = self.run_client(json.dumps(config), name="tap.json")
        self.assertEqual(stderr, "")
        [trace] = self.traces()
        self.assertTrue(trace.path.endswith(".pb_text"))
        self.assertTrue(trace.streamed)
        self.assertEqual(trace.received(), b"hel")  # cut per event at 3 bytes

    def test_without_a_format_envoys_default_json_and_environment_overrides(self):
        bare = textwrap.dedent(f"""\
            match: {{any_match: true}}
            output_config:
              sinks:
              - file_per_tap: {{path_prefix: "{self.prefix}"}}
            """)
        self.run_client(bare)
        [trace] = self.traces()
        self.assertTrue(trace.path.endswith(".json"), trace.path)
        os.unlink(trace.path)
        self.run_client(bare, TAP_FORMAT="proto_text", TAP_MAX_BUFFERED_TX_BYTES=2)
        [trace] = self.traces()
        self.assertTrue(trace.path.endswith(".pb_text"), trace.path)
        self.assertEqual(trace.sent(), b"he")

    def test_a_predicate_that_never_matches_taps_nothing(self):
        config = ENVOY_DOCS_YAML.format(prefix=self.prefix).replace(
            "any_match: true", "not_match: {any_match: true}")
        stderr, _ = self.run_client(config)
        self.assertEqual(stderr, "")
        self.assertEqual(self.trace_files(), [])

    def test_what_the_shim_cannot_honour_is_one_error_line_and_no_tapping(self):
        cases = {
            "streaming_admin": ENVOY_DOCS_YAML.format(prefix=self.prefix).replace(
                "file_per_tap:\n                path_prefix: " + self.prefix, "streaming_admin: {}"),
            "http_request_headers_match": ENVOY_DOCS_YAML.format(prefix=self.prefix).replace(
                "any_match: true", "http_request_headers_match: {headers: [{name: x}]}"),
            "anchor": ENVOY_DOCS_YAML.format(prefix=self.prefix).replace(
                "match_config:", "match_config: &m"),
        }
        for field, config in cases.items():
            with self.subTest(field=field):
                stderr, _ = self.run_client(config)
                lines = stderr.splitlines()
                self.assertEqual(len(lines), 1, stderr)
                self.assertTrue(lines[0].startswith("tapshim: TAP_CONFIG: "), lines[0])
                self.assertIn("tapping is off", lines[0])
                self.assertEqual(self.trace_files(), [])


if __name__ == "__main__":
    unittest.main()
