#!/usr/bin/env bash
# Keeps a failing (or once-failing) simulator run as a regression scenario whose faults are explicit,
# so that it keeps testing the same thing after code changes reshuffle what a seed draws:
#
#   bash scripts/keep-regression.sh SCENARIO SEED "what it found" [AETHER_BINARY]
#
# writes scenarios/regressions/NAME-seed-SEED.textpb: the scenario without its chaos block, its
# seed's faults as events, and replay_seed = SEED. tests/chaos/run.sh replays every file there with
# its own seed and a few others (docs/simulation.md, "Keeping a failing case").
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:?usage: keep-regression.sh SCENARIO SEED WHAT [AETHER]}
seed=${2:?usage: keep-regression.sh SCENARIO SEED WHAT [AETHER]}
what=${3:?usage: keep-regression.sh SCENARIO SEED WHAT [AETHER]}
aether=${4:-build/bin/aether}
[[ -f $scenario ]] || scenario="$scenario.textpb"
name=$(sed -n 's/^name: "\(.*\)"/\1/p' "$scenario")
out="scenarios/regressions/$name-seed-$seed.textpb"
{
  echo "# proto-file: proto/scenario.proto"
  echo "# proto-message: aether.wire.Scenario"
  echo "#"
  echo "# Regression: $scenario with seed $seed, its faults made explicit (scripts/keep-regression.sh)."
  echo "# $what" | fold -s -w 100 | sed '2,$s/^/# /'
  grep -vE '^(#|chaos|name:|description:|replay_seed:)' "$scenario" | sed '/^$/d'
  echo "name: \"$name-seed-$seed\""
  echo "description: \"$(echo "$what" | sed 's/"/\\"/g')\""
  echo "replay_seed: $seed"
  "$aether" sim "$scenario" --seed "$seed" --print-faults | grep '^events'
} >"$out"
"$aether" sim "$out" >/dev/null 2>&1 || { echo "keep-regression: $out fails today (an open bug?)"; exit 1; }
echo "kept $out"
