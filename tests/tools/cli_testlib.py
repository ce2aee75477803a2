"""Helpers of the launcher and viewer tests. meson passes, besides
tapshim_testlib's TAPSHIM_LIB and TRACE_TO_JSON:
  TAPSHIM_LAUNCHER  build/src/tools/tapshim
  TAPSHIM_VIEW      build/src/tools/tapshim-view
"""
import calendar
import os
import re
import subprocess
import textwrap
import time

LAUNCHER = os.environ.get("TAPSHIM_LAUNCHER", "")
VIEW = os.environ.get("TAPSHIM_VIEW", "")


def require_tools():
    for name, path in (("TAPSHIM_LAUNCHER", LAUNCHER), ("TAPSHIM_VIEW", VIEW)):
        if not path or not os.path.exists(path):
            raise RuntimeError(f"{name} is not set to a built file (got {path!r}); run under meson test")


def clean_env(**extra):
    """The test's environment without TAP_* and LD_PRELOAD, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_") and k != "LD_PRELOAD"}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def launch(*args, env=None, timeout=120, **kwargs):
    return subprocess.run([LAUNCHER, *args], env=env if env is not None else clean_env(),
                          capture_output=True, timeout=timeout, **kwargs)


def view(*args, timeout=120):
    return subprocess.run([VIEW, *args], capture_output=True, timeout=timeout)


_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


def timestamp_ns(text):
    """An RFC 3339 timestamp as protobuf's JSON prints it, in ns since the epoch."""
    match = _TIMESTAMP.match(text)
    if not match:
        raise AssertionError(f"not a timestamp: {text!r}")
    *fields, fraction = match.groups()
    seconds = calendar.timegm(tuple(int(f) for f in fields))
    return seconds * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))


# A client that follows a plan: [["send", hex], ["shut"], ["recv", n],
# ["trunc", n] (recv with MSG_TRUNC: bytes the shim cannot see, a gap),
# ["drain"]], against host:port.
PLAN_CLIENT = textwrap.dedent("""
    import json, socket, sys
    host, port, plan = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    sock = socket.create_connection((host, port), timeout=60)
    sock.settimeout(None)
    for step in plan:
        if step[0] == "send":
            data = bytes.fromhex(step[1])
            assert sock.send(data) == len(data)
        elif step[0] == "shut":
            sock.shutdown(socket.SHUT_WR)
        elif step[0] == "recv":
            assert len(sock.recv(step[1], socket.MSG_WAITALL)) == step[1]
        elif step[0] == "trunc":
            sock.recv(step[1], socket.MSG_TRUNC)
        elif step[0] == "drain":
            while sock.recv(4096):
                pass
    sock.close()
""")

def wait_for(predicate, timeout=60.0):
    """Polls `predicate` every 50 ms; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)
