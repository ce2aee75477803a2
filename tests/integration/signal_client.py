"""A client that ends the way real programs end, for test_fatal_signals.py.

usage: signal_client.py PORT [--default SIG]... [--ignore SIG]...
                             [--handler SIG]... [--block SIG]...
                             [--via-libc-signal SIG] [--then WHAT]

Connects, sends "hello\\n", reads the echo, prints its view of its signals
and "ready", then does WHAT: `wait` (sleep until a signal ends it), `segv`
(a real fault), `abort`, `alarm` (SIGALRM from a timer), `pipe` (a write
after its own shutdown: the kernel raises SIGPIPE), `exec-status` (exec cat on
/proc/self/status without the shim), `stream` (threads sending without
pause, on four connections, until a signal ends it).
"""
import argparse
import ctypes
import os
import signal
import socket
import sys
import threading
import time

VIEWED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGALRM", "SIGPIPE", "SIGSEGV")


def by_name(name):
    return getattr(signal, name)


def describe(handler):
    return "a handler" if callable(handler) else str(handler)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--default", action="append", default=[])
    parser.add_argument("--ignore", action="append", default=[])
    parser.add_argument("--handler", action="append", default=[])
    parser.add_argument("--block", action="append", default=[])
    parser.add_argument("--via-libc-signal")
    parser.add_argument("--then", default="wait")
    options = parser.parse_args()
    for name in options.default:
        signal.signal(by_name(name), signal.SIG_DFL)
    for name in options.ignore:
        signal.signal(by_name(name), signal.SIG_IGN)
    for name in options.handler:
        signal.signal(by_name(name), lambda number, frame: sys.exit(3))
    if options.via_libc_signal:
        # libc's signal() (Python's signal module uses sigaction): what it
        # answers, through an ignore and back to the default.
        libc = ctypes.CDLL(None)
        libc.signal.restype = ctypes.c_void_p
        libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
        number = by_name(options.via_libc_signal)
        answers = [libc.signal(number, value) or 0 for value in (1, 0, 0)]
        print(f"signal() answered {answers}", flush=True)
    if options.block:
        signal.pthread_sigmask(signal.SIG_BLOCK, [by_name(n) for n in options.block])

    sock = socket.create_connection(("127.0.0.1", options.port))
    sock.sendall(b"hello\n")
    reply = sock.recv(100)
    view = {name: describe(signal.getsignal(by_name(name))) for name in VIEWED}
    print(f"reply={reply!r} view={sorted(view.items())}", flush=True)
    print("ready", flush=True)
    if options.then == "wait":
        time.sleep(60)
    elif options.then == "segv":
        ctypes.string_at(0)
    elif options.then == "abort":
        os.abort()
    elif options.then == "alarm":
        signal.alarm(1)
        time.sleep(60)
    elif options.then == "pipe":
        sock.shutdown(socket.SHUT_WR)
        sock.send(b"more\n")  # EPIPE, and the kernel raises SIGPIPE
    elif options.then == "exec-status":
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        os.execve("/bin/cat", ["cat", "/proc/self/status"], env)
    elif options.then == "stream":
        def send_forever():
            with socket.create_connection(("127.0.0.1", options.port)) as own:
                while True:
                    own.send(b"x" * 100)
        for _ in range(4):
            threading.Thread(target=send_forever, daemon=True).start()
        time.sleep(60)
    elif options.then == "pending":
        time.sleep(1)
        print(f"pending={sorted(s.name for s in signal.sigpending())}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
