"""A tapped program that execs a statically linked one: the static program
cannot load the shim, so its connections go untapped. That must not pass
silently: the exec hook says so, once per process, naming the program.
Checked through a shell (execve after its own PATH search) and env(1)
(execvp with a bare name, looked up in PATH by the hook as by libc); a
dynamically linked program gets no line."""
import os
import subprocess
import unittest

from tapshim_testlib import TapTestCase, shim_env

STATIC = os.environ["STATIC_PROGRAM"]


def tapshim_lines(stderr):
    return [line for line in stderr.decode(errors="replace").splitlines()
            if line.startswith("tapshim:")]


class ExecStaticTest(TapTestCase):

    def run_tapped(self, command, **variables):
        env = shim_env(self.prefix, **variables)
        done = subprocess.run(command, env=env, capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def test_shell_running_a_static_program_says_so(self):
        done = self.run_tapped(["/bin/sh", "-c", f"{STATIC}; {STATIC}"])
        self.assertEqual(done.stdout, b"a static program ran\n" * 2)
        lines = tapshim_lines(done.stderr)
        # The shell forks a child per command; each child says it once.
        self.assertTrue(lines, done.stderr)
        for line in lines:
            self.assertEqual(line, f"tapshim: {STATIC} is statically linked: it cannot load "
                                   "tapshim, so its connections (and those of what it starts) "
                                   "are not tapped")

    def test_execvp_by_name_finds_it_in_path(self):
        directory, name = os.path.split(STATIC)
        # env execvp()s its argument: a bare name, found in PATH.
        done = self.run_tapped(["/usr/bin/env", name], PATH=f"/usr/bin:/bin:{directory}")
        self.assertEqual(done.stdout, b"a static program ran\n")
        self.assertEqual(tapshim_lines(done.stderr),
                         [f"tapshim: {directory}/{name} is statically linked: it cannot load "
                          "tapshim, so its connections (and those of what it starts) are not "
                          "tapped"])

    def test_dynamic_program_gets_no_line(self):
        done = self.run_tapped(["/bin/sh", "-c", "/bin/true; /usr/bin/env true"])
        self.assertEqual(tapshim_lines(done.stderr), [])


if __name__ == "__main__":
    unittest.main()
