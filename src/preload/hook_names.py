#!/usr/bin/env python3
"""Lists the functions hooks.def interposes, as a version script or a list.

The version script is anonymous ({ global: ...; local: *; };): a named
version node would keep the hooks from interposing programs linked against
glibc's versioned symbols.
"""
import re
import sys

ROW = re.compile(r"^TAP_HOOK(?:_CUSTOM)?\(\s*[^,]+,\s*([A-Za-z_][A-Za-z0-9_]*)\s*,|^TAP_HOOK_VOID\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


def hook_names(path):
    names = []
    with open(path, encoding="utf-8") as source:
        for line in source:
            match = ROW.match(line)
            if match:
                names.append(match.group(1) or match.group(2))
    if not names:
        sys.exit(f"{path}: no TAP_HOOK rows found")
    return names


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("--version-script", "--list"):
        sys.exit("usage: hook_names.py --version-script|--list hooks.def OUTPUT")
    names = hook_names(sys.argv[2])
    with open(sys.argv[3], "w", encoding="utf-8") as out:
        if sys.argv[1] == "--version-script":
            out.write("{\n  global:\n")
            for name in names:
                out.write(f"    {name};\n")
            out.write("  local: *;\n};\n")
        else:
            out.write("".join(f"{name}\n" for name in sorted(names)))


if __name__ == "__main__":
    main()
