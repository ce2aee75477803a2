"""Runs the trace reader fuzzer for a bounded time over a seed corpus made
of Envoy's sample and the generated test traces (every format).

  run_fuzzer.py FUZZER     (MAKE_TEST_TRACES and ENVOY_CONFORMANCE_DIR from meson)
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

FUZZ_SECONDS = int(os.environ.get("TAP2PCAP_FUZZ_SECONDS", "20"))
MAX_SEED_BYTES = 64 * 1024


def main():
    fuzzer = sys.argv[1]
    work = tempfile.mkdtemp(prefix="tap2pcap-fuzz-")
    try:
        traces = os.path.join(work, "traces")
        corpus = os.path.join(work, "corpus")
        os.makedirs(traces)
        os.makedirs(corpus)
        conformance = os.environ["ENVOY_CONFORMANCE_DIR"]
        golden = os.path.join(conformance, "tap2pcap_h2_ipv4.pb_text")
        subprocess.run([os.environ["MAKE_TEST_TRACES"], traces, golden], check=True)
        seeds = [golden] + sorted(glob.glob(os.path.join(traces, "*")))
        for seed in seeds:
            if os.path.getsize(seed) <= MAX_SEED_BYTES and not seed.endswith("manifest.json"):
                shutil.copy(seed, corpus)
        done = subprocess.run(
            [fuzzer, corpus, f"-max_total_time={FUZZ_SECONDS}", "-max_len=65536",
             "-rss_limit_mb=2048", "-timeout=10", "-print_final_stats=1",
             f"-artifact_prefix={work}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            print(done.stdout[-20000:])
            for artifact in glob.glob(os.path.join(work, "crash-*")) + glob.glob(
                    os.path.join(work, "leak-*")) + glob.glob(os.path.join(work, "timeout-*")):
                print("artifact:", artifact, open(artifact, "rb").read()[:400])
            return 1
        print(done.stdout[-3000:])
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
