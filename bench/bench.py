#!/usr/bin/env python3
"""tapshim's benchmark driver (scripts/bench builds, then runs this).

Runs the project's load programs (bench/*.cc) over loopback, each untapped
and tapped in alternation: in every round the untapped run A comes first,
the tapped variants next (in an order that rotates from round to round),
and a second untapped run B last. A row's ratio is the median over rounds
of tapped / ((A + B) / 2) throughput (higher is better); beside it, the
noise: the median of B / A over the same rounds; a warm-up run comes first.
With taskset (two CPUs or more), a loopback client and its server share
CPU 0: on a 2-CPU virtual machine a wake-up across CPUs costs more than
the round trip itself (ping-pong: 14 us per round trip on one CPU, 57 us
across two, and noisier), and CPU 1 is left to the kernel's writeback and
to tcpdump. nginx runs on CPU 1, wrk on CPU 0.

Standard library only. `--quick` is the smoke mode (small sizes, one
round); it asserts nothing.
"""
import argparse
import os
import platform
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

GIB = 1 << 30
KIB = 1 << 10


class Sizes:
    def __init__(self, quick):
        self.rounds = 1 if quick else 5
        self.bulk_bytes = 64 << 20 if quick else GIB
        self.bulk_chunk = 64 * KIB
        self.batch = 1 << 20                      # TAP_MIN_STREAMED_SENT_BYTES, streamed in full
        self.pingpong_rounds = 2000 if quick else 20000
        self.pingpong_size = 100
        self.churn_count = 300 if quick else 4000
        self.churn_size = 100
        self.tls_seconds = 1 if quick else 3
        self.tls_connections = 8
        self.tls_body = 1 * KIB
        self.spawn_count = 30 if quick else 300
        self.idle_count = 1000 if quick else 10000
        self.idle_size = 100
        self.memory_rounds = 1 if quick else 2


def trivial_library():
    """A small library every Debian system has, to preload as the yardstick
    of what loading any library costs."""
    for directory in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib"):
        candidate = os.path.join(directory, "libz.so.1")
        if os.path.exists(candidate):
            return candidate
    raise RuntimeError("libz.so.1 not found: the start-up rows need a trivial library to compare")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Bench:
    def __init__(self, args):
        self.args = args
        self.sizes = Sizes(args.quick)
        build = os.path.abspath(args.build_dir)
        self.bin = {name: os.path.join(build, "bench", "bench_" + name)
                    for name in ("bulk", "pingpong", "churn", "idle", "spawn", "create")}
        self.lib = os.path.join(build, "src", "preload", "libtapshim.so")
        for path in [self.lib, *self.bin.values()]:
            if not os.path.exists(path):
                sys.exit(f"bench: {path} is missing; build first (scripts/bench does)")
        parent = args.dir or ("/var/tmp" if os.path.isdir("/var/tmp") else tempfile.gettempdir())
        self.dir = tempfile.mkdtemp(prefix="tapshim-bench-", dir=parent)
        self.pin = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
        self.servers = []
        self.rows = []   # (name, ratio text, noise text, goal text, note)
        self.started = time.monotonic()

    # --- processes -------------------------------------------------------

    def pinned(self, command, cpu):
        return (["taskset", "-c", str(cpu)] if self.pin else []) + command

    def base_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_") and k != "LD_PRELOAD"}
        return env

    def tapped_env(self, prefix_name, **variables):
        env = self.base_env()
        env["LD_PRELOAD"] = self.lib
        env["TAP_PATH_PREFIX"] = os.path.join(self.dir, prefix_name)
        for key, value in variables.items():
            env[key] = str(value)
        return env

    def start_server(self, command, env=None, cpu=0):
        """A server that prints "port=N" first; returns (process, port)."""
        process = subprocess.Popen(self.pinned(command, cpu), env=env or self.base_env(),
                                   stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = process.stdout.readline()
        match = re.match(r"port=(\d+)", line)
        if not match:
            process.kill()
            raise RuntimeError(f"{command[0]} did not report its port: {line!r}")
        self.servers.append(process)
        return process, int(match.group(1))

    def stop(self, process):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.servers:
            self.servers.remove(process)

    def run(self, command, env=None, cpu=0, timeout=600):
        done = subprocess.run(self.pinned(command, cpu), env=env or self.base_env(),
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
        shim = [line for line in done.stderr.splitlines() if line.startswith("tapshim")]
        if shim:
            raise RuntimeError(f"{' '.join(command)}: the shim said: {shim}")
        return dict(item.split("=", 1) for item in done.stdout.split())

    def clean(self, keep=()):
        for name in os.listdir(self.dir):
            if name not in keep:
                path = os.path.join(self.dir, name)
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)

    def trace_bytes(self, prefix_name):
        return sum(os.path.getsize(os.path.join(self.dir, n)) for n in os.listdir(self.dir)
                   if n.startswith(prefix_name + "_"))

    def trace_files(self, prefix_name):
        return sum(1 for n in os.listdir(self.dir) if n.startswith(prefix_name + "_"))

    # --- rounds ----------------------------------------------------------

    def rounds(self, variants, measure, count=None):
        """Runs A, the variants (rotating), B per round; returns
        {name: [value per round]} with "A" and "B" included. `measure(name)`
        returns a throughput (higher is better)."""
        results = {"A": [], "B": [], **{name: [] for name in variants}}
        measure("A")  # warm-up, not counted
        for index in range(count or self.sizes.rounds):
            results["A"].append(measure("A"))
            shift = index % len(variants) if variants else 0
            for name in variants[shift:] + variants[:shift]:
                results[name].append(measure(name))
            results["B"].append(measure("B"))
        if self.args.raw:
            for name, values in results.items():
                self.log(f"  {name:<12} " + " ".join(f"{v:.4g}" for v in values))
        return results

    def spawn_rounds(self, program, sets):
        """The start-up rows' rounds: each is one bench_spawn run that takes
        a process of every set in turn, untapped ones first and last (A and
        B); returns {name: [median us per process, one per round]}. `sets`
        maps a name to its NAME=VALUE settings."""
        names = ["A", *sets, "B"]
        settings = ["", *(" ".join(sets[name]) for name in sets), ""]
        command = [self.bin["spawn"], str(self.sizes.spawn_count), program, *settings]
        self.run([self.bin["spawn"], "3", program, *settings])  # warm-up, not counted
        results = {name: [] for name in names}
        for _ in range(self.sizes.rounds):
            got = self.run(command)
            for index, name in enumerate(names):
                results[name].append(float(got[f"us_{index}"]))
        if self.args.raw:
            for name, values in results.items():
                self.log(f"  {name:<12} " + " ".join(f"{v:.4g}" for v in values))
        return results

    @staticmethod
    def ratio(results, name):
        ratios = [t / ((a + b) / 2) for t, a, b in zip(results[name], results["A"], results["B"])
                  if t is not None]
        return median(ratios)

    @staticmethod
    def noise(results):
        return median([b / a for a, b in zip(results["A"], results["B"])])

    def row(self, name, value, noise, goal, note="", fmt="{:.3f}"):
        self.rows.append((name, "n/a" if value is None else fmt.format(value),
                          "" if noise is None else "{:.3f}".format(noise) if isinstance(noise, float)
                          else str(noise), goal, note))

    def log(self, text):
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=sys.stderr, flush=True)

    # --- tap2pcap ----------------------------------------------------------

    def bench_tap2pcap(self):
        """Conversion throughput: MB of trace per second, for a streamed
        trace of a bulk transfer (every byte) made in this run."""
        s = self.sizes
        tool = os.path.join(os.path.dirname(os.path.dirname(self.bin["bulk"])), "src", "tools",
                            "tap2pcap")
        if not os.path.exists(tool):
            sys.exit(f"bench: {tool} is missing; build first (scripts/bench does)")
        size = s.bulk_bytes // 4
        self.log(f"tap2pcap: a streamed trace of {size >> 20} MiB, converted {s.rounds} times")
        receiver, port = self.start_server([self.bin["bulk"], "recv"])
        self.run([self.bin["bulk"], "send", str(port), str(size), str(s.bulk_chunk)],
                 env=self.tapped_env("convert", TAP_STREAMING=1, TAP_MIN_STREAMED_SENT_BYTES=s.batch))
        self.stop(receiver)
        [trace] = [os.path.join(self.dir, n) for n in os.listdir(self.dir) if n.startswith("convert_")]
        trace_mb = os.path.getsize(trace) / 1e6
        rates = []
        for _ in range(s.rounds):
            capture = os.path.join(self.dir, "convert.pcapng")
            started = time.monotonic()
            subprocess.run(self.pinned([tool, trace, capture], 1), check=True,
                           stdout=subprocess.DEVNULL)
            rates.append(trace_mb / (time.monotonic() - started))
            os.unlink(capture)
        self.row("tap2pcap: MB of trace converted per second", median(rates), None, "",
                 f"a {trace_mb:.0f} MB streamed trace to pcapng", fmt="{:.0f} MB/s")

    # --- 1. bulk ---------------------------------------------------------

    def bench_bulk(self):
        s = self.sizes
        self.log(f"bulk: {s.bulk_bytes >> 20} MiB in {s.bulk_chunk >> 10} KiB writes, "
                 f"{s.rounds} rounds")
        receiver, port = self.start_server([self.bin["bulk"], "recv"])
        tcpdump = shutil.which("tcpdump") if os.geteuid() == 0 else None
        send = [self.bin["bulk"], "send", str(port), str(s.bulk_bytes), str(s.bulk_chunk)]
        envs = {
            "nonmatching": self.tapped_env("bulk", TAP_MATCH=f"not port {port}"),
            "buffered": self.tapped_env("bulk"),
            "streamed": self.tapped_env("bulk", TAP_STREAMING=1,
                                        TAP_MIN_STREAMED_SENT_BYTES=s.batch),
        }
        disk, on_disk, captured, dropped = [], [], [], []

        def measure(name):
            # Every run writes up to a GiB to the page cache: start each from
            # a file system with nothing dirty, so that no run pays for the
            # writeback (or the throttling) of the run before.
            os.sync()
            if name == "dd":
                disk.append(self.dd_bandwidth(s.bulk_bytes))
                return disk[-1]
            if name == "tcpdump":
                rate, share, drops = self.bulk_with_tcpdump(tcpdump, port, send, s.bulk_bytes)
                captured.append(share)
                dropped.append(drops)
                return rate
            result = self.run(send, env=envs.get(name))
            rate = int(result["bytes"]) / float(result["seconds"])
            if name == "streamed":
                on_disk.append(self.trace_bytes("bulk") / s.bulk_bytes)
            self.clean()
            return rate

        variants = ["nonmatching", "buffered", "streamed", "dd"] + (["tcpdump"] if tcpdump else [])
        results = self.rounds(variants, measure)
        self.stop(receiver)
        noise = self.noise(results)
        untapped = median([(a + b) / 2 for a, b in zip(results["A"], results["B"])])
        mib = lambda rate: f"{rate / (1 << 20):.0f} MiB/s"
        self.row("bulk 1 GiB / 64 KiB writes: not matching (TAP_MATCH)", self.ratio(results, "nonmatching"),
                 noise, ">= 0.98", f"untapped {mib(untapped)}")
        self.row("bulk: buffered (default limits)", self.ratio(results, "buffered"), noise, ">= 0.97")
        streamed_vs_fs = median([t / min((a + b) / 2, d) for t, a, b, d in
                                 zip(results["streamed"], results["A"], results["B"], disk)])
        self.row("bulk: streamed in full (batched 1 MiB)", self.ratio(results, "streamed"), noise,
                 "", f"{median(on_disk):.3f} of the bytes on disk; file system (dd) "
                 f"{mib(median(disk))}")
        self.row("bulk: streamed in full / min(untapped, dd)", streamed_vs_fs, noise, ">= 0.9")
        # The program's thread makes the kernel copy every byte into the page
        # cache (dd's rate) besides sending it: on the one CPU it shares with
        # its server, no tap writing in that thread can beat 1 / (1/U + 1/D).
        streamed_vs_bound = median([t * (1 / ((a + b) / 2) + 1 / d) for t, a, b, d in
                                    zip(results["streamed"], results["A"], results["B"], disk)])
        self.row("bulk: streamed in full / one-CPU bound", streamed_vs_bound, noise, "",
                 "bound = 1 / (1/untapped + 1/dd): sending and the page-cache copy, in turn")
        if tcpdump:
            self.row("bulk: tcpdump -i lo -w (anchor)", self.ratio(results, "tcpdump"), noise, "",
                     f"captured {100 * median(captured):.1f}% of the bytes, "
                     f"{median(dropped):.0f} packets dropped by the kernel")
        else:
            self.row("bulk: tcpdump -i lo -w (anchor)", None, None, "", "needs root and tcpdump")

    def dd_bandwidth(self, size):
        path = os.path.join(self.dir, "dd.tmp")
        done = subprocess.run(self.pinned(["dd", "if=/dev/zero", f"of={path}", "bs=64K",
                                           f"count={size // (64 * KIB)}"], 0),
                              capture_output=True, text=True)
        os.unlink(path)
        match = re.search(r"(\d+) bytes .* copied, ([\d.]+) s", done.stderr)
        if not match:
            raise RuntimeError(f"dd: {done.stderr}")
        return int(match.group(1)) / float(match.group(2))

    def bulk_with_tcpdump(self, tcpdump, port, send, size):
        capture = os.path.join(self.dir, "bulk.pcap")
        process = subprocess.Popen([tcpdump, "-i", "lo", "-w", capture, "-Z", "root", "-n",
                                    "tcp", "port", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = process.stderr.readline()  # "listening on lo, ..."
        if "listening" not in line:
            process.kill()
            raise RuntimeError(f"tcpdump: {line.strip()}")
        result = self.run(send)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
        drops = re.search(r"(\d+) packets? dropped by kernel", stderr)
        share = self.pcap_payload(capture, port) / size
        os.unlink(capture)
        return int(result["bytes"]) / float(result["seconds"]), share, int(drops.group(1)) if drops else 0

    @staticmethod
    def pcap_payload(path, port):
        """TCP payload bytes sent to `port` in a classic pcap of lo."""
        total = 0
        with open(path, "rb") as f:
            header = f.read(24)
            if len(header) < 24:
                return 0
            endian = "<" if header[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
            linktype = struct.unpack(endian + "I", header[20:24])[0]
            link_header = {1: 14, 113: 16, 276: 20}.get(linktype, 14)
            while True:
                record = f.read(16)
                if len(record) < 16:
                    break
                _, _, caplen, _ = struct.unpack(endian + "IIII", record)
                packet = f.read(caplen)
                ip = packet[link_header:]
                if len(ip) < 20 or ip[0] >> 4 != 4:
                    continue
                ihl = (ip[0] & 15) * 4
                ip_total = struct.unpack(">H", ip[2:4])[0]
                tcp = ip[ihl:]
                if len(tcp) < 20:
                    continue
                dport = struct.unpack(">H", tcp[2:4])[0]
                if dport != port:
                    continue
                offset = (tcp[12] >> 4) * 4
                wire_payload = ip_total - ihl - offset
                total += max(0, min(wire_payload, len(tcp) - offset))
        return total

    # --- 2. ping-pong ----------------------------------------------------

    def bench_pingpong(self):
        s = self.sizes
        self.log(f"ping-pong: {s.pingpong_rounds} round trips of {s.pingpong_size} B, "
                 f"{3 * s.rounds} rounds")
        server, port = self.start_server([self.bin["pingpong"], "server"])
        command = [self.bin["pingpong"], "client", str(port), str(s.pingpong_rounds), str(s.pingpong_size)]
        # Standby (TAP_STANDBY=1, nobody attaching): a coarse clock read per
        # hooked call and one open() that fails per 100 ms.
        standby = self.base_env()
        standby.update(LD_PRELOAD=self.lib, TAP_STANDBY="1", XDG_RUNTIME_DIR=self.dir)
        envs = {"buffered": self.tapped_env("pp"), "streamed": self.tapped_env("pp", TAP_STREAMING=1),
                "standby": standby}

        def measure(name):
            result = self.run(command, env=envs.get(name))
            self.clean()
            return int(result["rounds"]) / float(result["seconds"])

        # A run takes a third of a second, and a round trip's 14 us is what
        # a neighbour's burst disturbs most: three times the rounds.
        results = self.rounds(["buffered", "streamed", "standby"], measure, count=3 * s.rounds)
        self.stop(server)
        noise = self.noise(results)
        untapped = median([(a + b) / 2 for a, b in zip(results["A"], results["B"])])
        self.row("ping-pong 100 B: buffered (default limits)", self.ratio(results, "buffered"), noise,
                 ">= 0.95", f"untapped {1e6 / untapped:.1f} us per round trip")
        self.row("ping-pong 100 B: streamed per event", self.ratio(results, "streamed"), noise, ">= 0.85")
        self.row("ping-pong 100 B: standby, not attached", self.ratio(results, "standby"), noise,
                 ">= 0.99")

    # --- 3. churn --------------------------------------------------------

    def bench_churn(self):
        s = self.sizes
        self.log(f"churn: {s.churn_count} connections of {s.churn_size} B each way, {s.rounds} rounds")
        server, port = self.start_server([self.bin["churn"], "server"])
        command = [self.bin["churn"], "client", str(port), str(s.churn_count), str(s.churn_size)]
        envs = {"per_tap": self.tapped_env("churn"),
                "per_process": self.tapped_env("churn", TAP_SINK="file_per_process")}
        create_us, files = [], {}

        def measure(name):
            if name == "create":
                result = self.run([self.bin["create"], self.dir, str(s.churn_count), "400"])
                create_us.append(float(result["us_per_file"]))
                return 1e6 / create_us[-1]
            result = self.run(command, env=envs.get(name))
            files.setdefault(name, []).append(self.trace_files("churn"))
            self.clean()
            return int(result["connections"]) / float(result["seconds"])

        results = self.rounds(["per_tap", "per_process", "create"], measure)
        self.stop(server)
        noise = self.noise(results)
        # The ceiling a file per connection sets: untapped time plus one file's creation.
        ceilings = [(2 / (a + b)) / (2 / (a + b) + c / 1e6)
                    for a, b, c in zip(results["A"], results["B"], create_us)]
        per_tap_vs_ceiling = median([t / ((a + b) / 2) / c for t, a, b, c in
                                     zip(results["per_tap"], results["A"], results["B"], ceilings)])
        untapped = median([(a + b) / 2 for a, b in zip(results["A"], results["B"])])
        self.row(f"churn {s.churn_count} connections: file_per_tap", self.ratio(results, "per_tap"),
                 noise, "", f"untapped {1e6 / untapped:.0f} us per connection; "
                 f"{median(files['per_tap']):.0f} files")
        self.row("churn: file_per_tap / file-creation ceiling", per_tap_vs_ceiling, noise, ">= 0.8",
                 f"creating a file {median(create_us):.0f} us: ceiling {median(ceilings):.3f}")
        self.row("churn: file_per_process", self.ratio(results, "per_process"), noise, ">= 0.80",
                 f"{median(files['per_process']):.0f} file")

    # --- 4. TLS: nginx + wrk ---------------------------------------------

    def bench_tls(self):
        s = self.sizes
        nginx = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else shutil.which("nginx")
        wrk, openssl = shutil.which("wrk"), shutil.which("openssl")
        if not (nginx and wrk and openssl):
            self.row("TLS: nginx HTTP/1.1 keep-alive (wrk)", None, None, ">= 0.95",
                     "needs nginx, wrk and openssl (scripts/setup installs them)")
            return
        self.log(f"TLS: nginx + wrk, {s.tls_connections} keep-alive connections, "
                 f"{s.tls_seconds} s per run, {s.rounds} rounds")
        base = os.path.join(self.dir, "..", os.path.basename(self.dir) + "-nginx")
        os.makedirs(base)
        try:
            cert, key = os.path.join(base, "cert.pem"), os.path.join(base, "key.pem")
            subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                            "/CN=localhost", "-keyout", key, "-out", cert],
                           check=True, capture_output=True)
            root = os.path.join(base, "www")
            os.makedirs(root)
            with open(os.path.join(root, "index.html"), "wb") as f:
                f.write(b"x" * s.tls_body)
            servers = {}
            for name in ("A", "B", "tapped"):
                env = self.tapped_env("nginx") if name == "tapped" else self.base_env()
                servers[name] = self.start_nginx(nginx, base, name, cert, key, root, env)  # CPU 1
            self.wrk_row("TLS: nginx HTTP/1.1 keep-alive (wrk), tapped", wrk, servers, "/index.html",
                         "nginx")
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def wrk_row(self, label, wrk, servers, path, prefix):
        """The row of an HTTPS server under wrk: rounds against `servers`
        ({"A", "B", "tapped"}: (process, port)), which are then stopped;
        `prefix` names the tapped one's traces, counted and cleaned."""
        def measure(name):
            _, port = servers[name]
            return self.wrk_requests_per_second(wrk, f"https://127.0.0.1:{port}{path}")

        results = self.rounds(["tapped"], measure)
        for process, _ in servers.values():
            self.stop(process)
        traces = self.trace_files(prefix)
        self.clean()
        untapped = median([(a + b) / 2 for a, b in zip(results["A"], results["B"])])
        self.row(label, self.ratio(results, "tapped"), self.noise(results), ">= 0.95",
                 f"untapped {untapped:.0f} requests/s of {self.sizes.tls_body} B; {traces} traces")

    def wrk_requests_per_second(self, wrk, url):
        """One wrk run (one thread, pinned to CPU 0) against `url`: requests
        per second, or an error when any request failed."""
        s = self.sizes
        done = subprocess.run(self.pinned([wrk, "-t1", f"-c{s.tls_connections}",
                                           f"-d{s.tls_seconds}s", url], 0),
                              capture_output=True, text=True, timeout=60)
        match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
        if done.returncode != 0 or not match or "Non-2xx" in done.stdout or \
                "Socket errors" in done.stdout:
            raise RuntimeError(f"wrk: {done.stdout} {done.stderr}")
        return float(match.group(1))

    def start_nginx(self, nginx, base, name, cert, key, root, env):
        from socket import socket
        with socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        prefix = os.path.join(base, name)
        os.makedirs(prefix)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off;
master_process on;
worker_processes 1;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    sendfile off;
    keepalive_timeout 60s;
    keepalive_requests 100000000;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} ssl;
        root {root};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
    }}
}}
""")
        process = subprocess.Popen(self.pinned([nginx, "-p", prefix, "-c", conf, "-e",
                                                f"{prefix}/error.log"], 1),
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.servers.append(process)
        from socket import create_connection
        deadline = time.monotonic() + 10
        while True:
            try:
                create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {process.stderr.read()}")
                time.sleep(0.05)
        return process, port

    # --- 4b. node: TLS inside the executable (TAP_PATCH) --------------------

    NODE_SERVER = r"""
const https = require('https'), fs = require('fs');
const [cert, key, size] = process.argv.slice(1);
const body = Buffer.alloc(Number(size), 'x');
const server = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)},
                                  (req, res) => res.end(body));
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(`port=${server.address().port}`));
"""

    def bench_node(self):
        """NodeSource node carries its own OpenSSL: tapped, its SSL_* are
        detoured at start-up. Requests per second of node's HTTPS server
        (wrk, keep-alive) tapped over untapped; and what examining the
        executable costs at start-up: node -e 0 tapped with and without
        TAP_PATCH=0 (node's 100 MB executable: its dynamic symbol table as
        loaded, no file read), and /bin/true likewise (too little code to
        hold OpenSSL: nothing more is looked at)."""
        s = self.sizes
        node, wrk, openssl = shutil.which("node"), shutil.which("wrk"), shutil.which("openssl")
        if not (node and wrk and openssl):
            self.row("node HTTPS server (wrk), tapped", None, None, ">= 0.95",
                     "needs node, wrk and openssl")
            return
        self.log(f"node: https server + wrk, {s.tls_connections} keep-alive connections, "
                 f"{s.tls_seconds} s per run, {s.rounds} rounds")
        base = os.path.join(self.dir, "..", os.path.basename(self.dir) + "-node")
        os.makedirs(base)
        try:
            cert, key = os.path.join(base, "cert.pem"), os.path.join(base, "key.pem")
            subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                            "/CN=localhost", "-keyout", key, "-out", cert],
                           check=True, capture_output=True)
            command = [node, "-e", self.NODE_SERVER, cert, key, str(s.tls_body)]
            servers = {name: self.start_server(command, self.tapped_env("node") if name == "tapped"
                                               else self.base_env(), cpu=1)
                       for name in ("A", "B", "tapped")}
            self.wrk_row("node HTTPS server (wrk), tapped: its OpenSSL detoured", wrk, servers, "/",
                         "node")
        finally:
            shutil.rmtree(base, ignore_errors=True)

        # Start-up: the same tapped process with and without the examination.
        count = max(5, s.spawn_count // 10)
        prefix = os.path.join(self.dir, "nodestart")
        envs = {"patched": self.tapped_env("nodestart"), "off": self.tapped_env("nodestart", TAP_PATCH=0)}

        def node_start(name):
            started = time.perf_counter()
            for _ in range(count):
                # stderr: the shim's line on what it left alone, every run.
                subprocess.run(self.pinned([node, "-e", "0"], 0), env=envs.get(name, self.base_env()),
                               stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            return 1e6 * (time.perf_counter() - started) / count

        node_times = self.rounds(["patched", "off"], node_start)
        true = "/bin/true" if os.path.exists("/bin/true") else shutil.which("true")
        true_times = self.spawn_rounds(true, {
            "patched": [f"LD_PRELOAD={self.lib}", f"TAP_PATH_PREFIX={prefix}"],
            "off": [f"LD_PRELOAD={self.lib}", f"TAP_PATH_PREFIX={prefix}", "TAP_PATCH=0"]})
        for label, times, runs in (("node -e 0", node_times, count), ("/bin/true", true_times, s.spawn_count)):
            cost = median([p - o for p, o in zip(times["patched"], times["off"])])
            noise = median([b - a for a, b in zip(times["A"], times["B"])])
            self.row(f"start-up: {label}, examining the executable (TAP_PATCH on - off)", cost,
                     f"{noise:+.0f} us", "",
                     f"untapped {median(times['A']):.0f} us per process, {runs} runs per round",
                     fmt="{:+.0f} us")

    # --- 5. start-up -----------------------------------------------------

    def bench_startup(self):
        """posix_spawn + waitpid of /bin/true: untapped, with a trivial
        library preloaded (zlib: the yardstick), and with libtapshim.so
        inert, in standby and tapping, one process of each in turn (so that
        a slow phase of the VM hits them alike). Each row is the extra median
        time per process over untapped; the library's own rows also as a
        multiple of the trivial preload's extra (goal: at most 2)."""
        s = self.sizes
        self.log(f"start-up: /bin/true x {s.spawn_count}, {s.rounds} rounds")
        true = "/bin/true" if os.path.exists("/bin/true") else shutil.which("true")
        prefix = os.path.join(self.dir, "startup")
        trivial = trivial_library()
        variants = {"trivial": [f"LD_PRELOAD={trivial}"],
                    "inert": [f"LD_PRELOAD={self.lib}"],
                    "standby": [f"LD_PRELOAD={self.lib}", "TAP_STANDBY=1"],
                    "tapped": [f"LD_PRELOAD={self.lib}", f"TAP_PATH_PREFIX={prefix}"]}

        results = self.spawn_rounds(true, variants)
        if self.trace_files("startup"):
            raise RuntimeError("a process without sockets left a trace file")
        base = [(a + b) / 2 for a, b in zip(results["A"], results["B"])]
        noise = median([b - a for a, b in zip(results["A"], results["B"])])
        extra = {name: [t - u for t, u in zip(results[name], base)] for name in variants}
        self.row(f"start-up: /bin/true, {os.path.basename(trivial)} preloaded (us per process)",
                 median(extra["trivial"]), f"{noise:+.0f} us", "",
                 f"untapped {median(base):.0f} us per process", fmt="{:+.0f} us")
        for name, label in (("inert", "preloaded but inert"), ("standby", "in standby"),
                            ("tapped", "tapped")):
            multiple = median([e / max(z, 1.0) for e, z in zip(extra[name], extra["trivial"])])
            self.row(f"start-up: /bin/true, {label}", median(extra[name]), f"{noise:+.0f} us",
                     "<= 2x trivial", f"{multiple:.1f}x the trivial preload's extra",
                     fmt="{:+.0f} us")

    # --- 6. memory -------------------------------------------------------

    def bench_memory(self):
        s = self.sizes
        self.log(f"memory: {s.idle_count} idle connections, {s.memory_rounds} rounds")

        def measure(name):
            server, port = self.start_server([self.bin["idle"], "server", str(s.idle_size)])
            env = self.tapped_env("idle") if name == "tapped" else self.base_env()
            client = subprocess.Popen(self.pinned([self.bin["idle"], "client", str(port),
                                                   str(s.idle_count), str(s.idle_size)], 0),
                                      env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            line = client.stdout.readline()
            client.kill()  # no exit work: the traces are not the point here
            client.wait()
            self.stop(server)
            self.clean()
            values = dict(item.split("=", 1) for item in line.split())
            if "rss_after_kib" not in values:
                raise RuntimeError(f"bench_idle: {line!r} {client.stderr.read()}")
            return (int(values["rss_after_kib"]) - int(values["rss_before_kib"])) * KIB / s.idle_count

        results = self.rounds(["tapped"], measure, count=s.memory_rounds)
        untapped = median(results["A"] + results["B"])
        tapped = median(results["tapped"])
        self.row(f"memory: RSS per idle tapped connection ({s.idle_count} open)",
                 (tapped - untapped) / KIB, f"{untapped / KIB:.2f} KiB", "<= 4 KiB",
                 f"each exchanged {s.idle_size} B each way; untapped column: the client's own",
                 fmt="{:.2f} KiB")

    # --- the table -------------------------------------------------------

    def table(self):
        headers = ("", "tapped/untapped", "noise", "goal", "")
        widths = [max(len(str(r[i])) for r in self.rows + [headers]) for i in range(4)]
        lines = [f"{headers[0]:<{widths[0]}}  {headers[1]:>{widths[1]}}  {headers[2]:>{widths[2]}}  "
                 f"{headers[3]:<{widths[3]}}"]
        for name, value, noise, goal, note in self.rows:
            lines.append(f"{name:<{widths[0]}}  {value:>{widths[1]}}  {noise:>{widths[2]}}  "
                         f"{goal:<{widths[3]}}  {note}".rstrip())
        return "\n".join(lines)

    def machine(self):
        model = cores = ""
        try:
            lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
            model = re.search(r"Model name:\s+(.*)", lscpu).group(1).strip()
            cores = re.search(r"^CPU\(s\):\s+(\d+)", lscpu, re.M).group(1)
        except (OSError, AttributeError):
            pass
        with open("/proc/meminfo") as f:
            memory = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1)) // (1 << 20)
        fs = subprocess.run(["df", "--output=source,fstype", self.dir], capture_output=True,
                            text=True).stdout.split("\n")[1].split()
        rotational = "?"
        device = os.path.basename(fs[0]) if fs else ""
        for candidate in (device, re.sub(r"p?\d+$", "", device)):
            path = f"/sys/block/{candidate}/queue/rotational"
            if candidate and os.path.exists(path):
                rotational = "rotational" if open(path).read().strip() == "1" else "non-rotational"
                break
        return (f"{model}, {cores} CPUs, {memory} GiB; kernel {platform.release()}; trace directory "
                f"{os.path.dirname(self.dir)} on {fs[1] if len(fs) > 1 else '?'} ({fs[0] if fs else '?'}, "
                f"{rotational})")

    def main(self):
        steps = {"bulk": self.bench_bulk, "pingpong": self.bench_pingpong, "churn": self.bench_churn,
                 "tls": self.bench_tls, "node": self.bench_node, "startup": self.bench_startup,
                 "memory": self.bench_memory,
                 "tap2pcap": self.bench_tap2pcap}
        only = self.args.only.split(",") if self.args.only else list(steps)
        try:
            for name in only:
                steps[name]()
                self.clean()
        finally:
            for process in list(self.servers):
                self.stop(process)
            shutil.rmtree(self.dir, ignore_errors=True)
        mode = "quick smoke run (not figures)" if self.args.quick else f"{self.sizes.rounds} rounds"
        print(f"tapshim benchmark: {mode}, {time.monotonic() - self.started:.0f} s; "
              f"ratio = tapped / untapped throughput, median over rounds (higher is better); "
              f"noise = untapped / untapped of the same rounds")
        print(f"machine: {self.machine_text}")
        print(self.table())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--quick", action="store_true", help="smoke mode: small sizes, one round")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, --quick 1)")
    parser.add_argument("--dir", help="where traces go (default /var/tmp): its file system is measured")
    parser.add_argument("--raw", action="store_true", help="print every run's figure on stderr")
    parser.add_argument("--only",
                        help="comma-separated: bulk,pingpong,churn,tls,node,startup,memory,tap2pcap")
    args = parser.parse_args()
    bench = Bench(args)
    if args.rounds:
        bench.sizes.rounds = args.rounds
    bench.machine_text = bench.machine()
    bench.main()


if __name__ == "__main__":
    main()
