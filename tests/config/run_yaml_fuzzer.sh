#!/bin/sh
# Builds the YAML/TAP_CONFIG fuzzer with clang++ (libFuzzer + ASan + UBSan)
# and runs it for 15 seconds from the seed corpus. Fails if clang++ is
# missing, if the build fails, or on any crash, leak, hang or UB report.
# Usage: run_yaml_fuzzer.sh SRC_DIR SEEDS_DIR DICT WORK_DIR SOURCE...
set -eu
src_dir=$1 seeds=$2 dict=$3 work=$4
shift 4

CXX=${FUZZ_CXX:-clang++}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "run_yaml_fuzzer: $CXX not found: the YAML parser fuzzer needs clang++ with libFuzzer" >&2
  exit 1
fi

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"

"$CXX" -std=c++20 -g -O1 -fno-exceptions \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$src_dir" "$@" -o "$work/yaml_fuzzer"

# -timeout: any single input taking over 5 s counts as a hang.
exec "$work/yaml_fuzzer" "$work/corpus" \
  -dict="$dict" -max_total_time=15 -timeout=5 -max_len=4096 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1
