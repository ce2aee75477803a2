"""TLS built into the executable: this machine's /usr/bin/node (NodeSource)
links OpenSSL statically, so no preloaded hook sees its SSL_write. The shim
must say so once on stderr, leave the program's behaviour alone, and the
trace holds what the socket carried: TLS records (ciphertext)."""
import json
import os
import re
import subprocess
import unittest

from tapshim_testlib import TapTestCase
from tls_fixtures import NginxTLS, looks_like_tls_record, require_tool, tls_env

INDEX = b"<html><body>node has its own OpenSSL</body></html>\n"
FILES = {"index.html": INDEX}
NODE = "/usr/bin/node"

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


class StaticTLSTest(TapTestCase):

    def setUp(self):
        super().setUp()
        require_tool(NODE)
        done = subprocess.run(["ldd", NODE], capture_output=True, text=True)
        self.assertNotIn("libssl", done.stdout, "this test needs a node without a shared libssl")

    def node(self, port, cert, env):
        done = subprocess.run([NODE, "-e", NODE_CLIENT, str(port), cert], env=env, capture_output=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout), done.stderr.decode(errors="replace")

    def test_node_https(self):
        with NginxTLS(self.dir, FILES) as nginx:
            untapped, untapped_stderr = self.node(nginx.port, nginx.cert, dict(os.environ))
            tapped, stderr = self.node(nginx.port, nginx.cert, tls_env(self.prefix))
        # The program works as without the shim.
        self.assertEqual(untapped["status"], 200)
        for result in (untapped, tapped):
            self.assertEqual((result["status"], result["body"]), (untapped["status"], untapped["body"]))
        self.assertEqual(untapped_stderr, "")
        # One line from the shim says the TLS is inside the executable.
        shim_lines = [line for line in stderr.splitlines() if line.startswith("tapshim")]
        self.assertEqual(len(shim_lines), 1, stderr)
        self.assertEqual(stderr.splitlines(), shim_lines, "nothing else on stderr")
        line = shim_lines[0]
        self.assertRegex(line, r"(?i)\b(TLS|OpenSSL|SSL)\b", line)
        self.assertRegex(line, r"(?i)(executable|statically|built.in|node)", line)
        # The trace: what the socket carried, i.e. TLS records.
        traces = self.traces()
        self.assertEqual(len(traces), 1, f"one connection, one trace: {traces}")
        [trace] = traces
        self.assertEqual(trace.remote, ("127.0.0.1", nginx.port), trace)
        self.assertEqual(trace.local, ("127.0.0.1", tapped["local"]), trace)
        sent, received = trace.sent(), trace.received()
        self.assertTrue(sent.startswith(b"\x16\x03"), f"not a ClientHello: {sent[:8].hex(' ')}")
        self.assertTrue(received.startswith(b"\x16\x03"), f"not a ServerHello: {received[:8].hex(' ')}")
        self.assertTrue(all(looks_like_tls_record(e.data) for e in trace.events if e.kind == "write"),
                        "every write of node's socket is a TLS record")
        self.assertNotIn(b"GET /index.html", sent)
        self.assertNotIn(INDEX, received)
        self.assertFalse(re.search(rb"HTTP/1\.1 200", received))


if __name__ == "__main__":
    unittest.main()
