"""TLS built into the executable: this machine's /usr/bin/node (NodeSource)
links OpenSSL statically, so no preloaded hook sees its SSL_write. The shim
detours node's own SSL_* functions at load time (TAP_PATCH, on by default):
its HTTPS client, HTTPS server and HTTP/2 client traffic lands in
plaintext on the socket's trace, with the real addresses and no TLS record
as data; node's output and exit status are those of an untapped run; the
key log holds node's secrets (tshark decrypts a capture with it). With
TAP_PATCH=0, today's behaviour: one warning line, and the trace holds the
TLS records the socket carried."""
import json
import os
import re
import subprocess
import unittest

from tapshim_testlib import TapTestCase, free_port, wait_for_port
from tls_fixtures import (H2_PREFACE, KEYLOG_LINE, NginxTLS, assert_no_tls_records, assert_whole, h2_frames,
                          looks_like_tls_record, make_certificate, require_tool, tcpdump, tls_env)

INDEX = b"<html><body>node has its own OpenSSL</body></html>\n"
FILES = {"index.html": INDEX}
NODE = "/usr/bin/node"
# node's own functions the decoder leaves alone (their first bytes hold a
# branch): said in one line, the only one on stderr.
REFUSED_LINE = re.compile(r"^tapshim: node's built-in OpenSSL: left alone: .*\(a relative branch")

NODE_CLIENT = r"""
const https = require('https'), fs = require('fs');
const [port, ca] = process.argv.slice(1);
const request = https.get({host: '127.0.0.1', port: Number(port), path: '/index.html', servername: 'localhost',
                           ca: fs.readFileSync(ca), agent: false, headers: {'Connection': 'close'}}, (res) => {
  const local = res.socket.localPort, chunks = [];
  res.on('data', (d) => chunks.push(d));
  res.on('end', () => process.stdout.write(JSON.stringify(
      {status: res.statusCode, body: Buffer.concat(chunks).toString('base64'), local})));
});
request.on('error', (e) => { console.error(e); process.exit(1); });
"""

NODE_HTTP2_CLIENT = r"""
const http2 = require('http2'), fs = require('fs');
const [port, ca] = process.argv.slice(1);
const session = http2.connect(`https://localhost:${port}`, {ca: fs.readFileSync(ca), host: '127.0.0.1',
                                                             lookup: (h, o, cb) => cb(null, '127.0.0.1', 4)});
session.on('error', (e) => { console.error(e); process.exit(1); });
const request = session.request({':path': '/index.html'});
const chunks = [];
let status = 0;
request.on('response', (headers) => { status = headers[':status']; });
request.on('data', (d) => chunks.push(d));
request.on('end', () => {
  process.stdout.write(JSON.stringify({status, body: Buffer.concat(chunks).toString('base64'),
                                       local: session.socket.localPort}));
  session.close();
});
request.end();
"""

# Answers `count` requests (each on its own connection), then closes.
NODE_SERVER = r"""
const https = require('https'), fs = require('fs');
const [port, cert, key, count] = process.argv.slice(1);
let served = 0;
const server = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)}, (req, res) => {
  res.setHeader('Connection', 'close');
  res.end(`node answers ${req.url}\n`);
  if (++served === Number(count)) server.close();
});
server.listen(Number(port), '127.0.0.1');
"""


def key_lines(path):
    with open(path) as f:
        return [line for line in f.read().splitlines() if line]


class NodeTlsTest(TapTestCase):

    def setUp(self):
        super().setUp()
        require_tool(NODE)
        done = subprocess.run(["ldd", NODE], capture_output=True, text=True)
        self.assertNotIn("libssl", done.stdout, "this test needs a node without a shared libssl")

    def node(self, script, args, env):
        done = subprocess.run([NODE, "-e", script, *map(str, args)], env=env, capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout), done.stderr.decode(errors="replace")

    def assert_only_refusal_line(self, stderr):
        """At most the one line naming what the detour left alone; never
        the line saying node's TLS is traced encrypted."""
        lines = stderr.splitlines()
        self.assertLessEqual(len(lines), 1, stderr)
        for line in lines:
            self.assertRegex(line, REFUSED_LINE)

    def test_https_client_plaintext_and_key_log(self):
        keys = os.path.join(self.dir, "keys")
        capture = os.path.join(self.dir, "node.pcap")
        with NginxTLS(self.dir, FILES) as nginx:
            untapped, untapped_stderr = self.node(NODE_CLIENT, [nginx.port, nginx.cert], dict(os.environ))
            with tcpdump(capture, nginx.port):
                tapped, stderr = self.node(NODE_CLIENT, [nginx.port, nginx.cert], tls_env(self.prefix, TAP_KEYLOG=keys))
        self.assertEqual(untapped["status"], 200)
        self.assertEqual((tapped["status"], tapped["body"]), (untapped["status"], untapped["body"]))
        self.assertEqual(untapped_stderr, "")
        self.assert_only_refusal_line(stderr)
        traces = self.traces()
        self.assertEqual(len(traces), 1, traces)
        [trace] = traces
        self.assertEqual(trace.remote, ("127.0.0.1", nginx.port), trace)
        self.assertEqual(trace.local, ("127.0.0.1", tapped["local"]), trace)
        assert_no_tls_records(self, trace)
        assert_whole(self, trace)
        self.assertTrue(trace.sent().startswith(b"GET /index.html HTTP/1.1\r\n"), trace.sent()[:40])
        self.assertTrue(trace.sent().endswith(b"\r\n\r\n"), trace.sent()[-20:])
        received = trace.received()
        self.assertTrue(received.startswith(b"HTTP/1.1 200 OK\r\n"), received[:40])
        self.assertTrue(received.endswith(b"\r\n\r\n" + INDEX), received[-80:])
        self.assertFalse(trace.undecrypted_tls, trace)
        # The key log: node's secrets, which decrypt the capture.
        lines = key_lines(keys)
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, "^" + KEYLOG_LINE.pattern + "$")
        tshark = require_tool("tshark")

        def fields(*args):
            done = subprocess.run([tshark, "-n", "-r", capture, "-d", f"tcp.port=={nginx.port},tls", *args],
                                  capture_output=True, timeout=120, env=dict(os.environ, HOME=self.dir))
            self.assertEqual(done.returncode, 0, done.stderr)
            return done.stdout.decode().split()
        self.assertEqual(fields("-Y", "http", "-T", "fields", "-e", "http.request.uri"), [])
        self.assertEqual(fields("-o", f"tls.keylog_file:{keys}", "-Y", "http", "-T", "fields",
                                "-e", "http.request.uri", "-e", "http.response.code"), ["/index.html", "200"])

    def test_https_server_plaintext(self):
        curl = require_tool("curl")
        cert, key = make_certificate(self.dir)

        def serve(env):
            port = free_port()
            server = subprocess.Popen([NODE, "-e", NODE_SERVER, str(port), cert, key, "2"], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                wait_for_port(port, timeout=60)
                answers = []
                for path in ("/first", "/second"):
                    done = subprocess.run([curl, "-s", "-S", "--fail", "--http1.1", "--cacert", cert,
                                           "-w", "\n%{local_port}", f"https://127.0.0.1:{port}{path}"],
                                          capture_output=True, timeout=60)
                    self.assertEqual(done.returncode, 0, done.stderr)
                    body, local = done.stdout.rsplit(b"\n", 1)
                    answers.append((path, body, int(local)))
                out, err = server.communicate(timeout=60)
            finally:
                if server.poll() is None:
                    server.kill()
                    server.wait()
            return port, answers, server.returncode, out, err.decode(errors="replace")

        _, untapped, untapped_status, untapped_out, _ = serve(dict(os.environ))
        port, tapped, status, out, stderr = serve(tls_env(self.prefix))
        self.assertEqual([a[:2] for a in tapped], [a[:2] for a in untapped])
        self.assertEqual((status, out), (untapped_status, untapped_out))
        self.assertEqual(status, 0)
        self.assert_only_refusal_line(stderr)
        # wait_for_port's probe connection is traced too, without events.
        locals_ = {local for _, _, local in tapped}
        traces = self.traces()
        self.assertEqual([t for t in traces if t.remote[1] not in locals_ and t.events], [], traces)
        by_peer = {trace.remote[1]: trace for trace in traces if trace.remote[1] in locals_}
        self.assertEqual(len(by_peer), 2, traces)
        for path, body, local in tapped:
            trace = by_peer[local]
            self.assertEqual(trace.local, ("127.0.0.1", port), trace)
            self.assertEqual(trace.remote, ("127.0.0.1", local), trace)
            self.assertEqual(trace.origin, "INBOUND", trace)
            assert_no_tls_records(self, trace)
            assert_whole(self, trace)
            self.assertTrue(trace.received().startswith(f"GET {path} HTTP/1.1\r\n".encode()), trace.received()[:40])
            self.assertTrue(trace.sent().startswith(b"HTTP/1.1 200 OK\r\n"), trace.sent()[:40])
            self.assertTrue(trace.sent().endswith(b"\r\n\r\n" + body), trace.sent()[-60:])

    def test_http2_client_plaintext(self):
        with NginxTLS(self.dir, FILES) as nginx:
            untapped, _ = self.node(NODE_HTTP2_CLIENT, [nginx.port, nginx.cert], dict(os.environ))
            tapped, stderr = self.node(NODE_HTTP2_CLIENT, [nginx.port, nginx.cert], tls_env(self.prefix))
        self.assertEqual(untapped["status"], 200)
        self.assertEqual((tapped["status"], tapped["body"]), (untapped["status"], untapped["body"]))
        self.assert_only_refusal_line(stderr)
        [trace] = self.traces()
        self.assertEqual(trace.remote, ("127.0.0.1", nginx.port), trace)
        self.assertEqual(trace.local, ("127.0.0.1", tapped["local"]), trace)
        assert_no_tls_records(self, trace)
        sent, received = trace.sent(), trace.received()
        self.assertTrue(sent.startswith(H2_PREFACE), sent[:30])
        sent_frames, received_frames = h2_frames(sent[len(H2_PREFACE):]), h2_frames(received)
        self.assertIn(1, [frame[0] for frame in sent_frames], "a HEADERS frame from node")
        data = b"".join(frame[3] for frame in received_frames if frame[0] == 0 and frame[2] == 1)
        self.assertEqual(data, INDEX)

    def test_patch_off_is_todays_behaviour(self):
        with NginxTLS(self.dir, FILES) as nginx:
            untapped, _ = self.node(NODE_CLIENT, [nginx.port, nginx.cert], dict(os.environ))
            tapped, stderr = self.node(NODE_CLIENT, [nginx.port, nginx.cert], tls_env(self.prefix, TAP_PATCH="0"))
        self.assertEqual((tapped["status"], tapped["body"]), (untapped["status"], untapped["body"]))
        # One line from the shim says the TLS is inside the executable.
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 1, stderr)
        self.assertIn("node has its TLS library built into the executable (it defines SSL_write)", lines[0])
        [trace] = self.traces()
        self.assertEqual(trace.remote, ("127.0.0.1", nginx.port), trace)
        sent, received = trace.sent(), trace.received()
        self.assertTrue(sent.startswith(b"\x16\x03"), f"not a ClientHello: {sent[:8].hex(' ')}")
        self.assertTrue(received.startswith(b"\x16\x03"), f"not a ServerHello: {received[:8].hex(' ')}")
        self.assertTrue(all(looks_like_tls_record(e.data) for e in trace.events if e.kind == "write"))
        self.assertNotIn(b"GET /index.html", sent)
        self.assertNotIn(INDEX, received)


if __name__ == "__main__":
    unittest.main()
