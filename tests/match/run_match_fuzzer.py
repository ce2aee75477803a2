"""Builds the TAP_MATCH parser fuzzer with clang++ (libFuzzer + ASan +
UBSan) and runs it for a bounded time over a seed corpus of valid and
invalid expressions. Fails, never skips, when clang++ is missing.

  run_match_fuzzer.py SOURCE_ROOT
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

FUZZ_SECONDS = int(os.environ.get("TAP_MATCH_FUZZ_SECONDS", "15"))

SOURCES = ["match_expression.cc", "match_lexer.cc", "match_parser.cc", "match_value.cc"]

SEEDS = [
    "port 443",
    "dst port 443 and tls",
    "src or dst net 10.0.0.0/8 or 192.168 mask 255.255.0.0",
    "not host 10.0.0.1 and 10.0.0.2",
    "tcp port 80 or 443 or (8080 or portrange 9000-9100)",
    "ip6 net 2001:db8::/32 || ip host ::ffff:127.0.0.1",
    "inbound && !proc \"Web Content\"",
    "unix or outbound and proc curl or wget",
    "((tls)) and (src and dst portrange 0-65535)",
    "net ::ffff:0:0/96 and not net ::/0",
    "port 70000",
    "portrange 90-80",
    "net 10.1.2.3/8",
    "(port 80",
    "port 80 & tls",
]

DICTIONARY = ["and", "or", "not", "&&", "||", "!", "(", ")", "src", "dst", "host", "net",
              "mask", "port", "portrange", "tcp", "ip", "ip6", "unix", "inbound", "outbound",
              "tls", "proc", "/", "-", ":", "::", "::ffff:", ".", "255", "65535", "\""]


def main():
    root = sys.argv[1]
    clangxx = shutil.which("clang++")
    if clangxx is None:
        print("clang++ not found: the TAP_MATCH fuzzer cannot be built (apt-get install clang)")
        return 1
    work = tempfile.mkdtemp(prefix="tap-match-fuzz-")
    try:
        fuzzer = os.path.join(work, "match_fuzzer")
        sources = [os.path.join(root, "src", "tap_core", name) for name in SOURCES]
        build = subprocess.run(
            [clangxx, "-std=c++20", "-O1", "-g", "-fno-exceptions",
             "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=undefined",
             "-I", os.path.join(root, "src"),
             os.path.join(root, "tests", "match", "match_fuzzer.cc")] + sources +
            ["-o", fuzzer],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if build.returncode != 0:
            print(build.stdout[-20000:])
            print("building the fuzzer failed")
            return 1
        corpus = os.path.join(work, "corpus")
        os.makedirs(corpus)
        for i, seed in enumerate(SEEDS):
            with open(os.path.join(corpus, f"seed{i}"), "w") as f:
                f.write(seed)
        dictionary = os.path.join(work, "match.dict")
        with open(dictionary, "w") as f:
            for word in DICTIONARY:
                escaped = word.replace("\\", "\\\\").replace('"', '\\"')
                f.write(f'"{escaped}"\n')
        done = subprocess.run(
            [fuzzer, corpus, f"-max_total_time={FUZZ_SECONDS}", "-max_len=512",
             f"-dict={dictionary}", "-rss_limit_mb=2048", "-timeout=10",
             "-print_final_stats=1", f"-artifact_prefix={work}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            print(done.stdout[-20000:])
            for artifact in (glob.glob(os.path.join(work, "crash-*")) +
                             glob.glob(os.path.join(work, "leak-*")) +
                             glob.glob(os.path.join(work, "timeout-*"))):
                print("artifact:", artifact, open(artifact, "rb").read()[:400])
            return 1
        print(done.stdout[-3000:])
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
