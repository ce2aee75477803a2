#!/usr/bin/env python3
"""A signal handler's socket I/O inside the shim: a gap, said with its cause.

    test_signal_handler_io.py PROGRAM

PROGRAM (signal_handler_io.cc) has a SIGPIPE handler write one byte on a
tapped connection while the shim is at work inside close() on the same
thread. The hook cannot record it (the shim's locks may be held), so the
trace of that connection must end with a gap, and the one line on stderr
must name a signal handler, not io_uring or raw system calls (which the
kernel's byte counts would otherwise suggest at the trace's end).
Exit status 0 if all is as expected, 1 with the differences otherwise.
"""
import json
import os
import subprocess
import sys
import tempfile

import tapshim_testlib as lib

CAUSE = ("tapshim: socket I/O from a signal handler that interrupted tapshim on its thread is "
         "not recorded: its trace marks a gap")


def run(program):
    lib.require_artefacts()
    problems = []
    with tempfile.TemporaryDirectory(prefix="tapshim-signal-handler-") as directory:
        prefix = os.path.join(directory, "trace")
        done = subprocess.run([program], env=lib.shim_env(prefix), capture_output=True, text=True,
                              timeout=50)
        if done.returncode != 0:
            return [f"the program failed (status {done.returncode}):\n{done.stderr.strip()}"]
        port = json.loads(done.stdout)["port"]
        lines = [line for line in done.stderr.splitlines() if line.startswith("tapshim")]
        if lines != [CAUSE]:
            problems.append("stderr should be the one line\n  " + CAUSE + "\nbut is\n  "
                            + "\n  ".join(lines or ["(nothing)"]))
        traces = [t for t in lib.load_traces(prefix) if t.local and t.local[1] == port]
        if len(traces) != 1:
            return problems + [f"{len(traces)} traces of the connection from port {port}"]
        events = [(e.kind, e.data, e.truncated) for e in traces[0].events]
        expected = [("write", b"before", False), ("write", b"", True)]  # the "!" is a gap
        if events != expected:
            problems.append(f"events {events}, expected {expected}")
    return problems


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = run(argv[1])
    if problems:
        print("FAIL signal_handler_io:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    print("signal_handler_io: a gap, said to be a signal handler's")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
