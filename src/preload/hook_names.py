#!/usr/bin/env python3
"""Lists the functions hooks.def interposes, as a version script or a list.

The version script is anonymous ({ global: ...; local: *; };): a named
version node would keep the hooks from interposing programs linked against
glibc's versioned symbols.
"""
import re
import sys

ROW = re.compile(r"^TAP_HOOK(?:_CUSTOM)?\(\s*[^,]+,\s*([A-Za-z_][A-Za-z0-9_]*)\s*,|^TAP_HOOK_VOID\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


# Any use of the row macros outside a comment: each must be a row ROW reads,
# or the hook would be neither exported nor checked by the symbols test.
ANY_ROW = re.compile(r"\bTAP_HOOK(?:_CUSTOM|_VOID)?\(")


def hook_names(path):
    names = []
    with open(path, encoding="utf-8") as source:
        for number, line in enumerate(source, 1):
            match = ROW.match(line)
            if match:
                names.append(match.group(1) or match.group(2))
            elif ANY_ROW.search(line) and not line.lstrip().startswith("//"):
                sys.exit(f"{path}:{number}: a TAP_HOOK row must start at column 0 as "
                         f"TAP_HOOK(ret, name, ...: {line.strip()[:60]}")
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
