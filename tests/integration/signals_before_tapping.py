"""What a process's signal dispositions are before and after its first
tapped connection, for test_fatal_signals.py.

usage: signals_before_tapping.py PORT

Prints the kernel's SigCgt mask (/proc/self/status) before any socket,
then connects while another thread keeps setting and reading SIGUSR2's
disposition through libc (the shim installs its handlers at that moment),
and prints SigCgt again and what the thread last read back.
"""
import ctypes
import socket
import sys
import threading


def caught_mask():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("SigCgt:"):
                return line.split()[1]
    return "?"


def main():
    port = int(sys.argv[1])
    print("before", caught_mask(), flush=True)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    stop = threading.Event()
    answers = []

    def toggle():
        # SIG_IGN then back to SIG_DFL, again and again: each call must
        # answer what the one before set, whatever the shim does meanwhile.
        wrong = 0
        while not stop.is_set():
            if (libc.signal(12, 1) or 0) != 0:
                wrong += 1
            if (libc.signal(12, 0) or 0) != 1:
                wrong += 1
        answers.append(wrong)

    thread = threading.Thread(target=toggle)
    thread.start()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"hello\n")
        connection.recv(100)
        stop.set()
        thread.join()
        print("after", caught_mask(), "wrong answers", answers[0], flush=True)


if __name__ == "__main__":
    main()
