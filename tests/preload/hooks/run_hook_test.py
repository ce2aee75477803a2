#!/usr/bin/env python3
"""Runs one per-hook scenario under libtapshim.so and checks its traces.

    run_hook_test.py DRIVER SCENARIO

DRIVER (tests/preload/hooks/hook_driver) prints, for the scenario, the extra TAP_*
variables it needs (`DRIVER --env SCENARIO`), then runs it under the shim and
prints a JSON manifest: one entry per expected trace with its pid, local and
peer address, exact events and truncation flags. Every trace file is decoded
with libprotobuf (trace_to_json) and must match exactly one entry; no entry
may be left without a trace and no trace without an entry. Exit status 0 if
all is as expected, 1 with the differences otherwise, 77 to skip.
"""
import calendar
import glob
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time

import tapshim_testlib as lib

FILE_NAME = re.compile(r"^trace_(\d+)\.pb$")


class Failure(Exception):
    pass


def timestamp_ns(text):
    """RFC 3339 as protobuf's JSON writes it ("...T12:00:00.123456789Z") -> ns."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z", text or "")
    if not match:
        raise Failure(f"bad timestamp {text!r}")
    seconds = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    fraction = (match.group(2) or "").ljust(9, "0")
    return seconds * 1_000_000_000 + int(fraction)


def short(data):
    text = data.hex()
    return text if len(text) <= 64 else f"{text[:64]}... ({len(data)} bytes)"


def describe(event):
    kind, data, truncated, end_stream = event
    flags = "".join([" truncated" if truncated else "", " end_stream" if end_stream else ""])
    return f"{kind} {short(data)}{flags}"


def expected_events(entry):
    return [(e["kind"], bytes.fromhex(e["data"]), e["truncated"], e["end_stream"])
            for e in entry["events"]]


def actual_events(trace, problems):
    events = []
    for i, event in enumerate(trace.events):
        if event.kind not in ("read", "write"):
            problems.append(f"event {i} is a {event.kind} event (buffered traces have none)")
            continue
        if not event.has_body:
            problems.append(f"event {i} has no data body (Envoy always sets one)")
        events.append((event.kind, event.data, event.truncated, event.end_stream))
    return events


def compare_events(expected, actual, unordered, problems):
    if unordered:
        expected, actual = sorted(expected), sorted(actual)
    if expected == actual:
        return
    problems.append(f"events differ: {len(actual)} in the trace, {len(expected)} expected"
                    + (" (compared as a multiset)" if unordered else ""))
    for i in range(max(len(expected), len(actual))):
        want = expected[i] if i < len(expected) else None
        got = actual[i] if i < len(actual) else None
        if want != got:
            problems.append(f"first difference at event {i}:")
            problems.append(f"  expected {describe(want) if want else '(none)'}")
            problems.append(f"  actual   {describe(got) if got else '(none)'}")
            break
    for direction, index in (("read", 0), ("write", 1)):
        want = b"".join(e[1] for e in expected if e[0] == direction)
        got = b"".join(e[1] for e in actual if e[0] == direction)
        if want != got:
            problems.append(f"{direction} bytes differ: expected {short(want)}, got {short(got)}")


def check_trace(entry, trace, manifest, window, problems):
    compare_events(expected_events(entry), actual_events(trace, problems), entry["unordered"],
                   problems)
    for flag in ("read_truncated", "write_truncated"):
        if getattr(trace, flag) != entry[flag]:
            problems.append(f"{flag} is {getattr(trace, flag)}, expected {entry[flag]}")
    if trace.process_name != manifest["process_name"]:
        problems.append(f"process name {trace.process_name!r}, expected {manifest['process_name']!r}")
    previous = None
    for i, event in enumerate(trace.events):
        ns = timestamp_ns(event.timestamp)
        if not window[0] <= ns <= window[1]:
            problems.append(f"event {i} timestamp {event.timestamp} is outside the run")
        if previous is not None and ns < previous:
            problems.append(f"event {i} timestamp {event.timestamp} goes back in time")
        previous = ns


def run(driver, scenario):
    lib.require_artefacts()
    listed = subprocess.run([driver, "--env", scenario], capture_output=True, text=True)
    if listed.returncode != 0:
        raise Failure(f"{driver} --env {scenario}: {listed.stderr.strip()}")
    variables = dict(item.split("=", 1) for item in listed.stdout.split())

    with tempfile.TemporaryDirectory(prefix=f"tapshim-hook-{scenario}-") as directory:
        prefix = os.path.join(directory, "trace")
        env = lib.shim_env(prefix, **variables)
        started = time.time_ns()
        done = subprocess.run([driver, scenario], env=env, capture_output=True, text=True,
                              timeout=50)
        ended = time.time_ns()
        if done.returncode == 77:
            print(f"skipped: {done.stderr.strip()}")
            return 77
        if done.returncode != 0:
            raise Failure(f"the driver failed (status {done.returncode}):\n{done.stderr.strip()}")
        shim_lines = [line for line in done.stderr.splitlines() if line.startswith("tapshim")]
        if shim_lines:
            raise Failure("the shim complained:\n" + "\n".join(shim_lines))
        try:
            manifest = json.loads(done.stdout)
        except json.JSONDecodeError as error:
            raise Failure(f"the driver's manifest is not JSON ({error}):\n{done.stdout[:2000]}")

        files = sorted(glob.glob(os.path.join(directory, "*")))
        problems = []
        for path in files:
            name = os.path.basename(path)
            if not FILE_NAME.match(name):
                problems.append(f"unexpected file {name}")
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            if mode != 0o600:
                problems.append(f"{name} has mode {mode:o}, expected 600")
        traces = lib.decode([p for p in files if FILE_NAME.match(os.path.basename(p))])

        ids = {}
        for trace in traces:
            name = os.path.basename(trace.path)
            if int(FILE_NAME.match(name).group(1)) != trace.trace_id:
                problems.append(f"{name} holds trace_id {trace.trace_id}")
            if trace.trace_id in ids:
                problems.append(f"{name} and {ids[trace.trace_id]} share trace_id {trace.trace_id}")
            ids[trace.trace_id] = name

        def key(local, peer, pid):
            return (tuple(local) if local else None, tuple(peer) if peer else None, pid)

        remaining = list(traces)
        window = (started - 5_000_000, ended + 5_000_000)
        for entry in manifest["traces"]:
            wanted = key(entry["local"], entry["peer"], entry["pid"])
            found = [t for t in remaining if key(t.local, t.remote, t.pid) == wanted]
            label = (f"{entry['role']} (pid {entry['pid']}, {entry['local'][0]}:{entry['local'][1]}"
                     f" -> {entry['peer'][0]}:{entry['peer'][1]})")
            if not found:
                problems.append(f"{label}: no trace")
                continue
            if len(found) > 1:
                problems.append(f"{label}: {len(found)} traces: "
                                + ", ".join(os.path.basename(t.path) for t in found))
            trace = found[0]
            remaining.remove(trace)
            trace_problems = []
            check_trace(entry, trace, manifest, window, trace_problems)
            problems += [f"{label} in {os.path.basename(trace.path)}: {p}" for p in trace_problems]
        for trace in remaining:
            problems.append(f"unexpected trace {trace!r}")

        if problems:
            raise Failure("\n".join(problems))
        print(f"{scenario}: {len(traces)} traces as expected")
        return 0


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return run(argv[1], argv[2])
    except (Failure, AssertionError, subprocess.TimeoutExpired) as error:
        print(f"FAIL {argv[2]}:\n{error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
