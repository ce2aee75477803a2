#!/usr/bin/env python3
"""Checks that src/'s folders include each other only in the allowed direction.

The rule (docs/architecture.md draws it): each folder below may include
itself and the folders listed after it, nothing else. A folder under
src/tap_core or src/tools that is missing from the table is an error too, so
that a new folder has to take its place in the picture.

    check_layering.py SRC_DIR       checks the tree; one line per violation
    check_layering.py --self-test   shows that a wrong include is caught
"""

import pathlib
import re
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))
import tree_check  # noqa: E402

ALLOWED = {
    # Header-only pieces the preload library and the tools share.
    "common": set(),
    # The preload library: the hooks, over the whole tap core.
    "preload": {"tap_core/*", "common"},
    # The tap core, from the top of the data flow down.
    "tap_core/engine": {"tap_core/tapper", "tap_core/encoder", "tap_core/sink", "tap_core/match",
                        "tap_core/config", "tap_core/trace", "tap_core/base"},
    "tap_core/config": {"tap_core/match", "tap_core/base"},
    "tap_core/match": {"tap_core/trace", "tap_core/base"},
    "tap_core/tapper": {"tap_core/encoder", "tap_core/sink", "tap_core/trace", "tap_core/base"},
    "tap_core/encoder": {"tap_core/sink", "tap_core/trace", "tap_core/base"},
    "tap_core/sink": {"tap_core/trace", "tap_core/base"},
    "tap_core/trace": {"tap_core/base"},
    "tap_core/base": set(),
    # The tools: none of them sees the shim's code.
    "tools/tap2pcap": {"tools/trace_reader", "tools/capture"},
    "tools/viewer": {"tools/trace_reader"},
    "tools/launcher": {"common"},
    # Wireshark's extcap: runs the launcher and tap2pcap (found as the
    # launcher finds its siblings), and checks capture filters with the
    # shim's own match parser, so that Wireshark accepts what the shim will.
    "tools/extcap": {"tools/launcher", "tap_core/match"},
    "tools/trace_reader": set(),
    "tools/capture": set(),
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
SOURCE_SUFFIXES = {".h", ".cc", ".def"}


def folder_of(relative_path):
    """The table's folder a path (relative to src/) belongs to, or None."""
    parts = pathlib.PurePosixPath(relative_path).parts
    if not parts:
        return None
    if parts[0] in ("preload", "common"):
        return parts[0]
    if parts[0] in ("tap_core", "tools") and len(parts) >= 3:
        return f"{parts[0]}/{parts[1]}"
    return None


def allowed(source_folder, target_folder):
    if target_folder == source_folder:
        return True
    rules = ALLOWED[source_folder]
    return target_folder in rules or (
        "tap_core/*" in rules and target_folder.startswith("tap_core/"))


def check(src_dir):
    """Returns the violations in src_dir, one line each."""
    src_dir = pathlib.Path(src_dir)
    problems = []
    for top in ("tap_core", "tools"):
        for entry in sorted((src_dir / top).iterdir()):
            if entry.is_dir() and f"{top}/{entry.name}" not in ALLOWED:
                problems.append(f"src/{top}/{entry.name}/: a folder without a place in the "
                                f"layering rule (add it to {pathlib.Path(__file__).name})")
        for entry in sorted((src_dir / top).iterdir()):
            if entry.is_file() and entry.suffix in SOURCE_SUFFIXES:
                problems.append(f"src/{top}/{entry.name}: a source outside the layer folders")
    for path in sorted(src_dir.rglob("*")):
        if path.suffix not in SOURCE_SUFFIXES:
            continue
        relative = path.relative_to(src_dir).as_posix()
        source_folder = folder_of(relative)
        if source_folder is None or source_folder not in ALLOWED:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in INCLUDE.finditer(text):
            target = match.group(1)
            target_folder = folder_of(target)
            line = text.count("\n", 0, match.start()) + 1
            if target_folder is None:
                if "/" not in target and (path.parent / target).exists():
                    problems.append(f"src/{relative}:{line}: includes \"{target}\" by a bare "
                                    "name; include it by its path from src/")
                continue
            if target_folder not in ALLOWED:
                problems.append(f"src/{relative}:{line}: includes {target}, in a folder the "
                                "rule does not know")
            elif not allowed(source_folder, target_folder):
                problems.append(f"src/{relative}:{line}: {source_folder} may not include "
                                f"{target} ({target_folder})")
    return problems


def check_table_is_acyclic():
    """The rule itself must be a one-way order: no folder reaches itself."""
    def reach(folder, seen):
        for target in ALLOWED[folder]:
            targets = ([t for t in ALLOWED if t.startswith("tap_core/")]
                       if target == "tap_core/*" else [target])
            for t in targets:
                if t not in seen:
                    seen.add(t)
                    reach(t, seen)
        return seen
    return [f"the rule lets {f} reach itself" for f in ALLOWED if f in reach(f, set())]


def self_test():
    """A tree with one upward include must give exactly that violation."""
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for folder in ALLOWED:
            (root / folder).mkdir(parents=True, exist_ok=True)
        (root / "tap_core/base/os.h").write_text('#include "tap_core/base/lock.h"\n')
        (root / "tap_core/base/lock.h").write_text("\n")
        (root / "tap_core/encoder/json_encoder.cc").write_text(
            '#include "tap_core/base/os.h"\n#include "tap_core/tapper/tapper.h"\n')
        return tree_check.self_test_result(
            check(root),
            ["src/tap_core/encoder/json_encoder.cc:2: tap_core/encoder may not include "
             "tap_core/tapper/tapper.h (tap_core/tapper)"],
            "an upward include is caught")


def main(argv):
    return tree_check.run(argv, __doc__, lambda src: check_table_is_acyclic() + check(src),
                          self_test, "every #include follows the layering rule",
                          "include(s) against the layering rule")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
