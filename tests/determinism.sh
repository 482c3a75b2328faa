#!/usr/bin/env bash
# Usage: determinism.sh AETHER SCENARIO SEED OTHER_SEED
# Same seed twice must give the same trace digest; another seed must give a different one.
set -euo pipefail
aether=$1 scenario=$2 seed=$3 other=$4
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$aether" sim "$scenario" --seed "$seed" > "$tmp/a" &
"$aether" sim "$scenario" --seed "$seed" > "$tmp/b" &
wait %1 && wait %2
"$aether" sim "$scenario" --seed "$other" > "$tmp/c"
a=$(grep '^trace-digest ' "$tmp/a" | cut -d' ' -f2)
b=$(grep '^trace-digest ' "$tmp/b" | cut -d' ' -f2)
c=$(grep '^trace-digest ' "$tmp/c" | cut -d' ' -f2)
echo "seed $seed: $a and $b; seed $other: $c"
[ -n "$a" ] || { echo "no digest printed"; cat "$tmp/a"; exit 1; }
[ "$a" = "$b" ] || { echo "FAIL: one seed gave two digests"; diff "$tmp/a" "$tmp/b" || true; exit 1; }
[ "$a" != "$c" ] || { echo "FAIL: seeds $seed and $other gave the same digest"; exit 1; }
echo "determinism: ok"
