"""STARTTLS the way LDAP speaks it (RFC 4511 §4.14: the StartTLS extended
request, OID 1.3.6.1.4.1.1466.20037, its extended response, then TLS on the
same socket), with real programs that both link GnuTLS on Debian 12:
Debian's slapd as the server (its own slapd.conf, an mdb database of one
entry and a certificate, all in the test's directory, on a loopback port
chosen at run time) and `ldapsearch -ZZ` as the client. Each side runs
under the shim in turn with TAP_MATCH naming `tls` (buffered and streamed)
and without TAP_MATCH. The one trace of the LDAP connection has its
addresses and origin, the plaintext before TLS (the StartTLS request and
response) and, after it, the TLS plaintext (the bind, the search and the
entry) as whole LDAP messages, never TLS records; ldapsearch prints what it
prints without the shim."""
import os
import re
import signal
import subprocess
import unittest

from servers import server_process
from tapshim_testlib import TapTestCase, free_port, load_traces
from tls_fixtures import assert_no_tls_records, assert_whole, make_certificate, require_tool, tls_env

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
LDAPSEARCH = "/usr/bin/ldapsearch"

STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
# The StartTLS extended request as every client encodes it (messageID 1):
# LDAPMessage { 1, [APPLICATION 23] { [0] requestName } }.
STARTTLS_REQUEST = bytes([0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16]) + STARTTLS_OID

BASE = b"dc=tapshim,dc=test"
SECRET = b"tapshim starttls secret"  # the entry's `o`: only the server sends it
ENTRY_LDIF = f"""dn: {BASE.decode()}
objectClass: dcObject
objectClass: organization
dc: tapshim
o: {SECRET.decode()}
"""
# ldapsearch -LLL prints the entry alone.
EXPECTED_OUTPUT = f"dn: {BASE.decode()}\no: {SECRET.decode()}\n\n".encode()

# protocolOp tags of RFC 4511 (APPLICATION class).
BIND_REQUEST, BIND_RESPONSE, UNBIND_REQUEST = 0x60, 0x61, 0x42
SEARCH_REQUEST, SEARCH_ENTRY, SEARCH_DONE = 0x63, 0x64, 0x65
EXTENDED_REQUEST, EXTENDED_RESPONSE = 0x77, 0x78
# What ldapsearch -ZZ -x sends and slapd answers, in order: (messageID, op).
CLIENT_MESSAGES = [(1, EXTENDED_REQUEST), (2, BIND_REQUEST), (3, SEARCH_REQUEST), (4, UNBIND_REQUEST)]
SERVER_MESSAGES = [(1, EXTENDED_RESPONSE), (2, BIND_RESPONSE), (3, SEARCH_ENTRY), (3, SEARCH_DONE)]

SLAPD_CONF = """include /etc/ldap/schema/core.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
suffix "{base}"
directory {dir}/db
maxsize 1048576
access to * by * read
"""


# --- BER, as much of it as LDAP messages need --------------------------------

def ber_element(data, offset=0):
    """(tag, contents, end) of the BER element at `offset` (one-byte tags,
    definite lengths); raises if it does not fit in `data`."""
    if offset + 2 > len(data):
        raise AssertionError(f"a partial BER header at {offset} of {len(data)}: {data[offset:offset + 8]!r}")
    tag, length = data[offset], data[offset + 1]
    offset += 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4 or offset + size > len(data):
            raise AssertionError(f"a bad BER length at {offset} of {len(data)}: {data[offset - 2:offset + 6]!r}")
        length = int.from_bytes(data[offset:offset + size], "big")
        offset += size
    end = offset + length
    if end > len(data):
        raise AssertionError(f"a BER element at {offset} announces {length} bytes, {len(data) - offset} follow")
    return tag, data[offset:end], end


def ber_elements(data):
    """Every element of a constructed element's contents: [(tag, contents)]."""
    elements, offset = [], 0
    while offset < len(data):
        tag, contents, offset = ber_element(data, offset)
        elements.append((tag, contents))
    return elements


def ldap_messages(stream):
    """Splits one direction of an LDAP connection into its LDAPMessages:
    [(messageID, protocolOp tag, protocolOp contents, the message's bytes)].
    Raises if a byte is left over or is not part of an LDAPMessage (a TLS
    record, a missing or repeated piece)."""
    messages, offset = [], 0
    while offset < len(stream):
        start = offset
        tag, contents, offset = ber_element(stream, offset)
        if tag != 0x30:
            raise AssertionError(f"not an LDAPMessage at {start}: {stream[start:start + 8]!r}")
        fields = ber_elements(contents)
        if len(fields) < 2 or fields[0][0] != 0x02:
            raise AssertionError(f"an LDAPMessage at {start} without a messageID and an operation: {fields}")
        (_, message_id), (op_tag, op) = fields[:2]
        messages.append((int.from_bytes(message_id, "big"), op_tag, op, stream[start:offset]))
    return messages


def result_code(op):
    """The resultCode of an LDAPResult (the first element of a response)."""
    fields = ber_elements(op)
    if not fields or fields[0][0] != 0x0A:
        raise AssertionError(f"not an LDAPResult: {op!r}")
    return int.from_bytes(fields[0][1], "big")


# --- The test ----------------------------------------------------------------

class LdapStartTlsTest(TapTestCase):

    def setUp(self):
        super().setUp()
        for tool in (SLAPD, SLAPADD, LDAPSEARCH):
            require_tool(tool)
        for tool in (SLAPD, LDAPSEARCH):
            done = subprocess.run(["ldd", tool], capture_output=True, text=True, check=True)
            self.assertIn("libgnutls", done.stdout, f"{tool}: this test is about GnuTLS programs")
        self.cert, self.key = make_certificate(self.dir)
        os.mkdir(os.path.join(self.dir, "db"))
        self.conf = os.path.join(self.dir, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write(SLAPD_CONF.format(dir=self.dir, cert=self.cert, key=self.key, base=BASE.decode()))
        ldif = os.path.join(self.dir, "entry.ldif")
        with open(ldif, "w") as f:
            f.write(ENTRY_LDIF)
        done = subprocess.run([SLAPADD, "-f", self.conf, "-l", ldif], capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.runs = 0

    def run_exchange(self, client_env=None, server_env=None, port=None):
        """One LDAP connection: slapd (under server_env) and ldapsearch -ZZ
        (under client_env). Returns (slapd's port, ldapsearch's port as slapd
        logged it, the readiness probe's port, ldapsearch's result)."""
        port = port or free_port()
        self.runs += 1
        log_path = os.path.join(self.dir, f"slapd{self.runs}.log")
        # -d stats: in the foreground, logging each connection's ports and
        # operations to its stderr.
        server = [SLAPD, "-d", "stats", "-h", f"ldap://127.0.0.1:{port}/", "-f", self.conf]
        client = [LDAPSEARCH, "-ZZ", "-x", "-LLL", "-H", f"ldap://127.0.0.1:{port}", "-b", BASE.decode(),
                  "-s", "base", "(objectClass=*)", "o"]
        client_env = dict(client_env or os.environ)
        # The certificate names 127.0.0.1: verified, as without the shim.
        client_env.update(LDAPTLS_CACERT=self.cert, LDAPTLS_REQCERT="demand", HOME=self.dir)
        with server_process(server, port, env=server_env or dict(os.environ), log_path=log_path,
                            stop_signal=signal.SIGTERM) as process:
            done = subprocess.run(client, env=client_env, cwd=self.dir, capture_output=True, timeout=60)
        with open(log_path, errors="replace") as f:
            log = f.read()
        return port, self.ldap_client_port(log, port, done), process.probe_port, done

    def ldap_client_port(self, log, port, done):
        """The client port of the one connection slapd's log says did
        StartTLS and established TLS."""
        accepted = {conn: (int(client), int(local)) for conn, client, local in re.findall(
            r"conn=(\d+) fd=\d+ ACCEPT from IP=127\.0\.0\.1:(\d+) \(IP=127\.0\.0\.1:(\d+)\)", log)}
        starttls = set(re.findall(r"conn=(\d+) op=\d+ EXT oid=1\.3\.6\.1\.4\.1\.1466\.20037", log))
        established = set(re.findall(r"conn=(\d+) fd=\d+ TLS established", log))
        self.assertEqual(len(starttls), 1, f"one StartTLS in slapd's log:\n{log}\nldapsearch: {done}")
        self.assertEqual(starttls, established, f"StartTLS then TLS in slapd's log:\n{log}")
        [conn] = starttls
        client_port, local_port = accepted[conn]
        self.assertEqual(local_port, port, log)
        return client_port

    def check_output(self, done, baseline):
        """ldapsearch did under the shim what it does without it."""
        self.assertEqual(done.returncode, baseline.returncode, done.stderr)
        self.assertEqual(done.stdout, baseline.stdout, done.stderr)
        self.assertEqual(done.stderr, baseline.stderr)

    def baseline(self):
        """ldapsearch and slapd, neither under the shim."""
        _, _, _, done = self.run_exchange()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, EXPECTED_OUTPUT, done.stderr)
        self.assertEqual(done.stderr, b"")
        return done

    def ldap_trace(self, prefix, probe_port=None):
        """The one trace of the LDAP connection. A tapped slapd also traces
        the readiness probe's connection when TAP_MATCH is unset (it carries
        no data); any other trace is an error."""
        traces = load_traces(prefix)
        probes = [t for t in traces if probe_port and t.remote == ("127.0.0.1", probe_port)]
        for probe in probes:
            self.assertFalse([e for e in probe.events if e.kind != "closed"], f"the probe's {probe}")
        ldap = [t for t in traces if t not in probes]
        self.assertEqual(len(ldap), 1, f"one LDAP connection, one trace: {traces}")
        return ldap[0], probes

    def check_ldap_trace(self, trace, to_server, to_client, first_event_kind):
        """The trace holds, whole and in plaintext, ldapsearch's messages
        one way (to_server: the trace's bytes that went to slapd) and
        slapd's the other; first_event_kind is the kind of the trace's
        first data event, which carries the start of the StartTLS request."""
        assert_no_tls_records(self, trace)
        assert_whole(self, trace)
        # Before TLS: the StartTLS request is the first bytes the client
        # sent, and so the first the server read.
        data_events = [e for e in trace.events if e.kind in ("read", "write")]
        self.assertTrue(data_events, trace)
        self.assertEqual(data_events[0].kind, first_event_kind, trace.events)
        self.assertTrue(data_events[0].data and STARTTLS_REQUEST.startswith(data_events[0].data),
                        f"the first bytes of {trace}: {data_events[0].data!r}")
        self.assertTrue(to_server.startswith(STARTTLS_REQUEST), to_server[:64])
        # Every byte each way is part of a whole LDAPMessage, in order.
        sent, answered = ldap_messages(to_server), ldap_messages(to_client)
        self.assertEqual([(m[0], m[1]) for m in sent], CLIENT_MESSAGES, to_server)
        self.assertEqual([(m[0], m[1]) for m in answered], SERVER_MESSAGES, to_client)
        (_, _, extended_request, _), (_, _, bind, _), (_, _, search, _), _ = sent
        (_, _, extended_response, _), (_, _, bound, _), (_, _, entry, _), (_, _, search_done, _) = answered
        # The StartTLS exchange (plaintext).
        self.assertEqual(ber_elements(extended_request), [(0x80, STARTTLS_OID)])
        self.assertEqual(result_code(extended_response), 0, extended_response)
        # After TLS: an anonymous simple bind (-x), the search, the entry.
        self.assertEqual(ber_elements(bind), [(0x02, b"\x03"), (0x04, b""), (0x80, b"")])
        self.assertEqual(result_code(bound), 0, bound)
        search_fields = ber_elements(search)
        self.assertEqual(search_fields[0], (0x04, BASE), search)
        self.assertEqual(search_fields[1], (0x0A, b"\x00"), search)  # scope baseObject
        self.assertEqual(search_fields[6], (0x87, b"objectClass"), search)  # present filter
        self.assertEqual(search_fields[7], (0x30, b"\x04\x01o"), search)  # attributes: o
        [(name_tag, name), (attributes_tag, attributes)] = ber_elements(entry)
        self.assertEqual((name_tag, name), (0x04, BASE), entry)
        self.assertEqual(attributes_tag, 0x30, entry)
        [(attribute_tag, attribute)] = ber_elements(attributes)
        self.assertEqual(attribute_tag, 0x30, entry)
        self.assertEqual(ber_elements(attribute), [(0x04, b"o"), (0x31, b"\x04" + bytes([len(SECRET)]) + SECRET)])
        self.assertEqual(result_code(search_done), 0, search_done)
        # The entry's value went one way only.
        self.assertIn(SECRET, to_client)
        self.assertNotIn(SECRET, to_server)

    def test_client_side(self):
        baseline = self.baseline()
        for index, variables in enumerate([{"TAP_MATCH": "tls"},
                                           {"TAP_MATCH": "tls and port {port}"},
                                           {"TAP_MATCH": "tls", "TAP_STREAMING": "1"},
                                           {}]):
            with self.subTest(**variables):
                prefix = os.path.join(self.dir, f"client{index}")
                port = free_port()
                # The port is in the expression: pick it first, then run.
                variables = {k: v.replace("{port}", str(port)) for k, v in variables.items()}
                port, client_port, _, done = self.run_exchange(client_env=tls_env(prefix, **variables),
                                                               port=port)
                self.check_output(done, baseline)
                trace, _ = self.ldap_trace(prefix)
                self.assertEqual(trace.local, ("127.0.0.1", client_port), trace)
                self.assertEqual(trace.remote, ("127.0.0.1", port), trace)
                self.assertEqual(trace.origin, "OUTBOUND", trace)
                self.assertEqual(trace.process_name, "ldapsearch", trace)
                self.assertEqual(trace.streamed, "TAP_STREAMING" in variables, trace)
                self.check_ldap_trace(trace, trace.sent(), trace.received(), "write")

    def test_server_side(self):
        baseline = self.baseline()
        for index, variables in enumerate([{"TAP_MATCH": "tls"},
                                           {"TAP_MATCH": "tls and port {port}"},
                                           {"TAP_MATCH": "tls", "TAP_STREAMING": "1"},
                                           {}]):
            with self.subTest(**variables):
                prefix = os.path.join(self.dir, f"server{index}")
                port = free_port()
                variables = {k: v.replace("{port}", str(port)) for k, v in variables.items()}
                port, client_port, probe_port, done = self.run_exchange(
                    server_env=tls_env(prefix, **variables), port=port)
                self.check_output(done, baseline)
                trace, probes = self.ldap_trace(prefix, probe_port)
                # The probe never starts TLS: a `tls` expression leaves it out.
                self.assertEqual(len(probes), 0 if "TAP_MATCH" in variables else 1, probes)
                self.assertEqual(trace.local, ("127.0.0.1", port), trace)
                self.assertEqual(trace.remote, ("127.0.0.1", client_port), trace)
                self.assertEqual(trace.origin, "INBOUND", trace)
                self.assertEqual(trace.process_name, "slapd", trace)
                self.assertEqual(trace.streamed, "TAP_STREAMING" in variables, trace)
                # slapd writes the StartTLS response on one thread and runs
                # the handshake on another, once the client's ClientHello
                # arrives: the response is plaintext all the same.
                self.check_ldap_trace(trace, trace.received(), trace.sent(), "read")

    def test_both_sides_agree(self):
        """Both under the shim at once: what ldapsearch's trace says it sent
        is what slapd's says it received, and the other way."""
        client_prefix = os.path.join(self.dir, "both-client")
        server_prefix = os.path.join(self.dir, "both-server")
        _, _, probe_port, done = self.run_exchange(client_env=tls_env(client_prefix, TAP_MATCH="tls"),
                                                   server_env=tls_env(server_prefix, TAP_MATCH="tls"))
        self.assertEqual((done.returncode, done.stdout), (0, EXPECTED_OUTPUT), done.stderr)
        client, _ = self.ldap_trace(client_prefix)
        server, _ = self.ldap_trace(server_prefix, probe_port)
        self.assertEqual((client.local, client.remote), (server.remote, server.local))
        self.assertEqual(client.sent(), server.received())
        self.assertEqual(client.received(), server.sent())
        self.check_ldap_trace(client, client.sent(), client.received(), "write")

    def test_rest_of_the_expression_still_applies(self):
        for side in ("client", "server"):
            with self.subTest(side=side):
                prefix = os.path.join(self.dir, f"other-port-{side}")
                env = tls_env(prefix, TAP_MATCH="tls and port 1")
                _, _, _, done = self.run_exchange(**{f"{side}_env": env})
                self.assertEqual((done.returncode, done.stdout), (0, EXPECTED_OUTPUT), done.stderr)
                self.assertEqual(load_traces(prefix), [])


if __name__ == "__main__":
    unittest.main()
