#!/usr/bin/env python3
"""The manual pages against the programs they describe (suite man).

For each tool page: man(1) renders it (80 columns, every groff warning on)
with nothing on stderr and no line wider than the page; it has the usual
sections; and every flag that the tool's --help prints (-x, --long-flag)
appears in the rendered text. For libtapshim(7): the same rendering checks,
and every "TAP_..." string literal of the sources under src/ appears in it.

Usage (meson passes the built pages and executables):
  test_man_pages.py --page NAME PAGE TOOL [--page ...]
                    --library-page PAGE --sources SRC_DIR
Exit status 0 when every check holds, 1 with one line per failure.
"""

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys

WIDTH = 80

TOOL_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS",
                 "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"]
LIBRARY_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "FILES",
                    "DIAGNOSTICS", "LIMITS", "EXAMPLES", "SEE ALSO"]

# man renders '-' as U+2010 (hyphen) or U+2212 (minus) in a UTF-8 locale,
# and marks its own hyphenation with U+2010.
DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2212": "-"})

# A flag in --help: -x or --long-flag, not inside a word (set-uid).
FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)")
# A variable name the sources read: a whole string literal.
TAP_LITERAL = re.compile(r'"(TAP_[A-Z_]+)"')
SOURCE_SUFFIXES = {".cc", ".h", ".cpp", ".hpp", ".c", ".def", ".inc"}


def render(page, failures):
    """The page as man shows it, dashes normalised; None if it failed."""
    man = shutil.which("man")
    if man is None:
        failures.append("man not found (apt-get install man-db)")
        return None
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAN_KEEP_FORMATTING", "MANPAGER", "PAGER", "MANOPT",
                        "MANROFFOPT", "MANSECT", "MANPATH")}
    env.update(MANWIDTH=str(WIDTH), LC_ALL="C.UTF-8")
    result = subprocess.run([man, "--warnings=w", "-l", "-P", "cat", str(page)],
                            env=env, capture_output=True, timeout=60)
    name = pathlib.Path(page).name
    stderr = result.stderr.decode("utf-8", "replace").strip()
    if result.returncode != 0:
        failures.append(f"{name}: man -l exited {result.returncode}: {stderr}")
        return None
    if stderr:
        for line in stderr.splitlines():
            failures.append(f"{name}: man -l warned: {line}")
    text = result.stdout.decode("utf-8", "replace")
    if not text.strip():
        failures.append(f"{name}: man -l rendered nothing")
        return None
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > WIDTH:
            failures.append(f"{name}: rendered line {number} is {len(line)} columns "
                            f"(more than {WIDTH}): {line.strip()[:60]}...")
    return text.translate(DASHES)


def readings(text):
    """The text, and the text with lines broken at a hyphen joined again:
    once keeping the hyphen (a break in --max-rx-bytes), once dropping it
    (man's own hyphenation inside a word)."""
    return [text,
            re.sub(r"-\n[ \t]*", "-", text),
            re.sub(r"-\n[ \t]*", "", text)]


def mentions(texts, word):
    pattern = re.compile(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])")
    return any(pattern.search(text) for text in texts)


def check_sections(name, text, sections, failures):
    headings = {line.strip() for line in text.splitlines()
                if line and not line[0].isspace()}
    for section in sections:
        if section not in headings:
            failures.append(f"{name}: no {section} section")


def help_flags(tool, failures):
    result = subprocess.run([str(tool), "--help"], capture_output=True, timeout=60)
    output = result.stdout.decode("utf-8", "replace")
    if result.returncode != 0:
        failures.append(f"{tool} --help exited {result.returncode}")
    flags = sorted(set(FLAG.findall(output)))
    if not flags:
        failures.append(f"{tool} --help printed no flag:\n{output}")
    return flags


def check_page(page, sections, words, missing_line, summary, failures):
    """Renders the page, checks its sections, and that it names each word;
    missing_line(word) says what a missing one means."""
    text = render(page, failures)
    if text is None:
        return
    name = pathlib.Path(page).name
    check_sections(name, text, sections, failures)
    texts = readings(text)
    missing = [word for word in words if not mentions(texts, word)]
    failures.extend(f"{name}: {missing_line(word)}" for word in missing)
    print(f"{summary}: {len(words) - len(missing)} of {len(words)} in the page: "
          f"{' '.join(words)}")


def check_tool(name, page, tool, failures):
    check_page(page, TOOL_SECTIONS, help_flags(tool, failures),
               lambda flag: f"{name} --help has {flag}, the page does not",
               f"{name}: flags of --help", failures)


def source_variables(sources, failures):
    names = set()
    for path in sorted(pathlib.Path(sources).rglob("*")):
        if path.is_file() and path.suffix in SOURCE_SUFFIXES:
            names.update(TAP_LITERAL.findall(path.read_text(errors="replace")))
    if not names:
        failures.append(f"no \"TAP_...\" string literal found under {sources}")
    return sorted(names)


def check_library(page, sources, failures):
    check_page(page, LIBRARY_SECTIONS, source_variables(sources, failures),
               lambda variable: f"the sources read {variable}, the page does not name it",
               "libtapshim: TAP_* variables of the sources", failures)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", nargs=3, action="append", default=[],
                        metavar=("NAME", "PAGE", "TOOL"))
    parser.add_argument("--library-page", required=True)
    parser.add_argument("--sources", required=True)
    args = parser.parse_args()

    failures = []
    for name, page, tool in args.page:
        check_tool(name, page, tool, failures)
    check_library(args.library_page, args.sources, failures)
    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"{len(failures)} failure(s)" if failures else "all manual pages check out")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
