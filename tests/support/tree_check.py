"""What the repository's own checkers share (tests/layering, tests/docs):
the command line (a directory to check, or --self-test), one line per
problem and a count on stderr, and a self-test that holds a checker's
findings on a planted mistake against the expected ones."""

import sys


def self_test_result(problems, expected, caught):
    """0 when the planted mistakes gave exactly `expected`, else 1."""
    if problems != expected:
        print(f"self-test: expected {expected}, got {problems}", file=sys.stderr)
        return 1
    print(f"self-test: {caught}")
    return 0


def run(argv, usage, check, self_test, passed, failed):
    """check(directory) returns the problems, one line each; `passed` is
    printed when there is none, `failed` (after the count) when there are."""
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 2:
        print(usage, file=sys.stderr)
        return 2
    problems = check(argv[1])
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} {failed}", file=sys.stderr)
        return 1
    print(passed)
    return 0
