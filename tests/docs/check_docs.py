#!/usr/bin/env python3
"""Checks that the documentation points at things that exist.

In README.md, CONTRIBUTING.md and docs/*.md: every relative link resolves
to a file, and every #anchor to a heading of it; every path of the
repository written in backticks (`src/...`, `tests/...`, `scripts/...`,
`bench/...`, `proto/...`, `man/...`, `docs/...`) exists. Files move; the
docs must move with them.

    check_docs.py REPO_DIR       one line per broken reference
    check_docs.py --self-test    shows that a broken link and path are caught
"""

import pathlib
import re
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))
import tree_check  # noqa: E402

LINK = re.compile(r"\]\(([^)\s]+)\)")
REPO_PATH = re.compile(r"`((?:src|tests|scripts|bench|proto|man|docs)/[^`\s]*)`")
HEADING = re.compile(r"^(#+)\s+(.*)")


def anchor_of(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped,
    spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path):
    return {anchor_of(m.group(2)) for line in path.read_text(encoding="utf-8").splitlines()
            if (m := HEADING.match(line))}


def prose_lines(path):
    """(number, line) outside fenced code blocks."""
    in_code = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if not in_code:
            yield number, line


def check(repo):
    repo = pathlib.Path(repo)
    pages = [repo / "README.md", repo / "CONTRIBUTING.md"] + sorted((repo / "docs").glob("*.md"))
    problems = []
    for page in pages:
        if not page.exists():
            problems.append(f"{page.relative_to(repo)}: missing")
            continue
        name = page.relative_to(repo).as_posix()
        for number, line in prose_lines(page):
            for match in LINK.finditer(line):
                link = match.group(1)
                if re.match(r"^[a-z]+:", link):
                    continue  # http:, https:, mailto:
                target_text, _, anchor = link.partition("#")
                target = (page.parent / target_text) if target_text else page
                if not target.exists():
                    problems.append(f"{name}:{number}: link to {link}: no such file")
                elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                    problems.append(f"{name}:{number}: link to {link}: no such heading")
            for match in REPO_PATH.finditer(line):
                path = re.split(r"[:(]", match.group(1))[0]
                if any(c in path for c in "<{*"):
                    continue  # a pattern, not a path
                if not (repo / path).exists():
                    problems.append(f"{name}:{number}: `{match.group(1)}` does not exist")
    return problems


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        repo = pathlib.Path(tmp)
        (repo / "docs").mkdir()
        (repo / "src").mkdir()
        (repo / "src/real.h").write_text("\n")
        (repo / "CONTRIBUTING.md").write_text("# Contributing\n")
        (repo / "docs/a.md").write_text("# A page\n## Some heading\n")
        (repo / "README.md").write_text(
            "See [a](docs/a.md#some-heading), `src/real.h:3`.\n"
            "Broken: [b](docs/b.md), [c](docs/a.md#nothing), `src/gone.h`.\n"
            "```\n[not checked](inside/code.md)\n```\n")
        return tree_check.self_test_result(
            check(repo),
            ["README.md:2: link to docs/b.md: no such file",
             "README.md:2: link to docs/a.md#nothing: no such heading",
             "README.md:2: `src/gone.h` does not exist"],
            "broken links, anchors and paths are caught")


def main(argv):
    return tree_check.run(argv, __doc__, check, self_test,
                          "every link, anchor and path in the docs resolves",
                          "broken reference(s) in the docs")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
