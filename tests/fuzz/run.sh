#!/usr/bin/env bash
# Runs every libFuzzer harness for SECONDS on a copy of its seed corpus (the tree is not modified).
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS   (BUILD_DIR from the fuzz preset: build-fuzz)
# A crash, a sanitizer report, a failed check, a timeout (> 10 s on one input) or running out of
# memory (> 2 GiB) fails the run: the input is kept in BUILD_DIR/fuzz-artifacts/<harness>/ and the
# command that replays it is printed. Prints each harness's executions and corpus size.
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
artifacts="$build/fuzz-artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

harnesses=()
for dir in "$here"/corpus/*/; do harnesses+=("$(basename "$dir")"); done
# Every harness built must have a corpus (and so be run here).
for bin in "$build"/bin/fuzz_*; do
  name=${bin##*/fuzz_}
  [ "$name" = make_corpus ] && continue
  if [ ! -d "$here/corpus/$name" ]; then
    echo "fuzz: $bin has no corpus in tests/fuzz/corpus/$name" >&2
    exit 1
  fi
done

# Each harness fuzzes alone for SECONDS; FUZZ_JOBS of them at a time (default: the cores), each on
# its own core, so that the wall time is SECONDS per FUZZ_JOBS harnesses, not per harness.
jobs=${FUZZ_JOBS:-$(nproc)}
fuzz_one() {
  local name=$1 bin="$build/bin/fuzz_$1"
  mkdir -p "$work/$name/corpus" "$work/$name/out"
  cp "$here/corpus/$name"/* "$work/$name/corpus/"
  local dict=()
  [ -f "$here/dict/$name.dict" ] && dict=(-dict="$here/dict/$name.dict")
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -use_value_profile=1 -print_final_stats=1 \
    -artifact_prefix="$work/$name/out/" "${dict[@]}" "$work/$name/corpus" > "$work/$name/log" 2>&1
  echo $? > "$work/$name/rc"
}
for name in "${harnesses[@]}"; do
  bin="$build/bin/fuzz_$name"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is missing (cmake --preset fuzz && cmake --build --preset fuzz)" >&2
    exit 1
  fi
done
running=0
for name in "${harnesses[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  fuzz_one "$name" &
  running=$((running + 1))
done
wait

failed=0
printf '%-16s %10s %8s %8s  %s\n' harness runs exec/s corpus result
for name in "${harnesses[@]}"; do
  bin="$build/bin/fuzz_$name"
  log="$work/$name/log"
  rc=$(cat "$work/$name/rc" 2>/dev/null || echo 1)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  speed=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)
  corpus=$(ls "$work/$name/corpus" | wc -l)
  if [ "$rc" -eq 0 ]; then
    printf '%-16s %10s %8s %8s  %s\n' "$name" "${runs:-?}" "${speed:-?}" "$corpus" ok
    continue
  fi
  failed=1
  printf '%-16s %10s %8s %8s  %s\n' "$name" "${runs:-?}" "${speed:-?}" "$corpus" "FAILED (exit $rc)"
  mkdir -p "$artifacts/$name"
  cp "$log" "$artifacts/$name/log"
  found=0
  for f in "$work/$name/out"/*; do
    [ -e "$f" ] || continue
    cp "$f" "$artifacts/$name/"
    echo "  input: $artifacts/$name/${f##*/}   replay: $bin $artifacts/$name/${f##*/}"
    found=1
  done
  [ $found -eq 1 ] || echo "  no input saved; the log: $artifacts/$name/log"
  grep -E "ERROR|fuzz check failed|assertion failed|runtime error|SUMMARY" "$log" | head -5 | sed 's/^/  /'
done
if [ $failed -ne 0 ]; then
  echo "fuzz: FAILED (logs and inputs in $artifacts)"
  exit 1
fi
echo "fuzz: ${#harnesses[@]} harnesses, ${seconds} s each, ${jobs} at a time: ok"
