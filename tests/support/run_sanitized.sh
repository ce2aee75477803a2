#!/usr/bin/env bash
# meson test --wrapper of scripts/test's sanitizer runs (docs/tests.md, "Sanitizers").
#   run_sanitized.sh COMMAND ARGS...
# Runs one test with every sanitizer report of every process it starts sent
# to a file of its own (log_path), then fails the test with meson's hard
# error status (99, which should_fail cannot turn into a pass) if any report
# was written, whatever the test concluded: a tapped server's report would
# otherwise go with a stderr nobody reads. The reports are printed to stderr.
set -u
reports=$(mktemp -d "${TMPDIR:-/tmp}/tapshim-sanitizer-XXXXXX")
chmod 1777 "$reports" # a tapped server that drops to nobody writes here too
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$reports/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$reports/ubsan"
export TSAN_OPTIONS="${TSAN_OPTIONS:-}:log_path=$reports/tsan"
"$@"
status=$?
if compgen -G "$reports/*" >/dev/null; then
  for report in "$reports"/*; do
    echo "=== sanitizer report ${report##*/} (the test's status was $status)"
    cat "$report"
  done >&2
  status=99
fi
rm -rf "$reports"
exit "$status"
