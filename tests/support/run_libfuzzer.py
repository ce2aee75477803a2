"""Runs a libFuzzer binary for a bounded time over a seed corpus, and fails
on any crash, leak, hang or sanitizer report (printing the input that
caused it). The one runner of the project's fuzz tests.

  run_libfuzzer.py FUZZER [--seeds PATH...] [--dict FILE] [--seconds N]
                   [--max-len N] [--timeout S] [--max-seed-bytes N]
                   [--seeds-from PROGRAM ARG...]

--seeds: files, or directories whose files, start the corpus.
--seeds-from: PROGRAM is run with a fresh directory as its first argument
(then ARG...); what it writes there joins the corpus. Must come last.
TAPSHIM_FUZZ_SECONDS overrides --seconds (a longer run by hand).
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile


def copy_seeds(paths, corpus, max_bytes):
    for path in paths:
        files = sorted(glob.glob(os.path.join(path, "*"))) if os.path.isdir(path) else [path]
        for name in files:
            if os.path.isfile(name) and os.path.getsize(name) <= max_bytes:
                shutil.copy(name, os.path.join(corpus, f"seed{len(os.listdir(corpus))}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fuzzer")
    parser.add_argument("--seeds", nargs="*", default=[])
    parser.add_argument("--dict")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--max-len", type=int, default=4096)
    parser.add_argument("--timeout", type=int, default=10)
    parser.add_argument("--max-seed-bytes", type=int, default=64 * 1024)
    parser.add_argument("--seeds-from", nargs=argparse.REMAINDER, default=[])
    args = parser.parse_args()
    seconds = int(os.environ.get("TAPSHIM_FUZZ_SECONDS", args.seconds))

    work = tempfile.mkdtemp(prefix="tapshim-fuzz-")
    try:
        corpus = os.path.join(work, "corpus")
        os.makedirs(corpus)
        seeds = list(args.seeds)
        if args.seeds_from:
            generated = os.path.join(work, "generated")
            os.makedirs(generated)
            subprocess.run([args.seeds_from[0], generated] + args.seeds_from[1:], check=True)
            seeds.append(generated)
        copy_seeds(seeds, corpus, args.max_seed_bytes)
        command = [args.fuzzer, corpus, f"-max_total_time={seconds}", f"-max_len={args.max_len}",
                   f"-timeout={args.timeout}", "-rss_limit_mb=2048", "-error_exitcode=1",
                   "-timeout_exitcode=1", "-print_final_stats=1", f"-artifact_prefix={work}/"]
        if args.dict:
            command.append(f"-dict={args.dict}")
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            print(done.stdout[-20000:])
            for kind in ("crash", "leak", "timeout", "oom"):
                for artifact in glob.glob(os.path.join(work, f"{kind}-*")):
                    with open(artifact, "rb") as f:
                        print("artifact:", artifact, f.read()[:400])
            return 1
        print(done.stdout[-3000:])
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
