#!/usr/bin/env bash
# The CI chaos suite: seeded, fault-injected simulator runs that must all pass the global checker,
# every kept regression schedule, then a determinism guard that runs a sample twice and compares
# them byte for byte.
#
#   bash tests/chaos/run.sh AETHER_BINARY [RUN_BUDGET] [FIRST_SEED]
#
# RUN_BUDGET (default 2100) runs are shared evenly among the chaos-*.textpb scenarios here, over seeds
# FIRST_SEED (default 1) onwards; a longer sweep is the same command with a larger budget, e.g.
# `bash tests/chaos/run.sh build/bin/aether 10000` (docs/simulation.md has its figures). Every file of
# scenarios/regressions/ also runs with its replay seed and two more seeds. A failure prints the
# seed, the first violating event and the command that reproduces it.
set -u
set -o pipefail
export LC_ALL=C

AETHER=${1:?usage: run.sh AETHER_BINARY [RUN_BUDGET] [FIRST_SEED]}
BUDGET=${2:-2100}
FIRST=${3:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
JOBS=${JOBS:-2}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aether-chaos.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failed=0
total=0
started=$SECONDS

scenarios=("$HERE"/chaos-*.textpb)
per=$((BUDGET / ${#scenarios[@]}))
((per > 0)) || per=1
last=$((FIRST + per - 1))
for scenario in "${scenarios[@]}"; do
  name=$(basename "$scenario" .textpb)
  echo "== $name: seeds $FIRST..$last"
  # Its exit status is 1 when any seed fails: which ones, and whether they are known, is read below.
  "$AETHER" sim "$scenario" --seeds "$FIRST..$last" --jobs "$JOBS" >"$WORK/$name.out" 2>&1 || true
  # The summary tables, and every failure with its reproducer.
  grep -E '^(\||seed |  first|  reproduce|[0-9]+ passed)' "$WORK/$name.out"
  known=$(awk -v n="$name" '$1 == n { print $2 }' "$HERE/known-failures.txt" | sort -n)
  failing=$(sed -n 's/^seed \([0-9]*\): .*/\1/p' "$WORK/$name.out" | sort -n)
  unexpected=$(comm -13 <(echo "$known") <(echo "$failing") | grep . || true)
  now_passing=$(comm -23 <(echo "$known") <(echo "$failing") | awk -v f="$FIRST" -v l="$last" '$1 >= f && $1 <= l' | grep . || true)
  if [[ -n $unexpected ]]; then
    echo "chaos: $name: seeds failing that are not known failures: $(echo $unexpected)"
    failed=1
  elif ! grep -qE '^[0-9]+ passed, [0-9]+ failed' "$WORK/$name.out"; then
    echo "chaos: $name: the sweep did not finish"
    failed=1
  else
    failed_here=$(echo "$failing" | grep -c . || true)
    echo "chaos: $name: $((per - failed_here)) of $per runs passed; known failures (open bugs, tests/chaos/known-failures.txt): $(echo $failing)"
  fi
  [[ -z $now_passing ]] || echo "chaos: $name: known failures now passing (remove them from known-failures.txt): $(echo $now_passing)"
  total=$((total + per))
done

# Every bug chaos ever found, as an explicit fault schedule (scripts/keep-regression.sh): its own seed
# replays the run that found it; two more seeds vary everything but the faults.
echo "== regressions: scenarios/regressions"
for kept in "$ROOT"/scenarios/regressions/*.textpb; do
  seed=$(sed -n 's/^replay_seed: *//p' "$kept")
  for s in ${seed:-1} 1001 1002; do printf '%s\n%s\n' "$kept" "$s"; done
done >"$WORK/regressions.list"
regressions=$(($(wc -l <"$WORK/regressions.list") / 2))
: >"$WORK/regressions.failed"
# shellcheck disable=SC2016
tr '\n' '\0' <"$WORK/regressions.list" | xargs -0 -P "$JOBS" -n 2 sh -c \
  'out="$1/$(basename "$2" .textpb)-$3.out"; "$0" sim "$2" --seed "$3" >"$out" 2>&1 || echo "$2 $3" >>"$1/regressions.failed"' \
  "$AETHER" "$WORK"
while read -r kept s; do
  echo "chaos: regression $(basename "$kept" .textpb) fails with seed $s:"
  grep -E '^(VIOLATION|FAILED|first violating|reproduce)' "$WORK/$(basename "$kept" .textpb)-$s.out" | sed 's/^/  /'
  failed=1
done <"$WORK/regressions.failed"
echo "chaos: $regressions regression runs"
total=$((total + regressions))

# Determinism guard: the same seed twice gives the same trace; on a mismatch, the first record
# where the two runs part ways.
for scenario in "${scenarios[@]}"; do
  name=$(basename "$scenario" .textpb)
  for seed in 1 2; do
    for run in a b; do
      "$AETHER" sim "$scenario" --seed "$seed" --trace "$WORK/$name-$seed-$run.trace" 2>/dev/null | grep '^trace-digest' >"$WORK/$name-$seed-$run.digest"
    done
    if ! cmp -s "$WORK/$name-$seed-a.digest" "$WORK/$name-$seed-b.digest" || ! cmp -s "$WORK/$name-$seed-a.trace" "$WORK/$name-$seed-b.trace"; then
      echo "chaos: NONDETERMINISM in $name seed $seed: $(cat "$WORK/$name-$seed-a.digest") vs $(cat "$WORK/$name-$seed-b.digest")"
      "$AETHER" trace dump "$WORK/$name-$seed-a.trace" >"$WORK/a.jsonl"
      "$AETHER" trace dump "$WORK/$name-$seed-b.trace" >"$WORK/b.jsonl"
      line=$(cmp "$WORK/a.jsonl" "$WORK/b.jsonl" | sed -n 's/.* line \([0-9]*\).*/\1/p')
      echo "  first diverging trace record (record $line):"
      echo "    run 1: $(sed -n "${line:-1}p" "$WORK/a.jsonl")"
      echo "    run 2: $(sed -n "${line:-1}p" "$WORK/b.jsonl")"
      failed=1
    else
      echo "determinism: $name seed $seed twice: $(cat "$WORK/$name-$seed-a.digest"), traces identical"
    fi
  done
done

if [[ $failed != 0 ]]; then
  echo "chaos suite: FAILED"
  exit 1
fi
echo "chaos suite: $total fault-injected runs in $((SECONDS - started)) s, no unexpected violation; determinism guard passed"
