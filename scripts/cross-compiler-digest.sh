#!/usr/bin/env bash
# Usage: cross-compiler-digest.sh GCC_AETHER CLANG_AETHER [SCENARIO] [SEED]
# House rule 2: same seed, same bytes, on GCC and Clang. Both binaries run one scenario with one seed
# and must print the same trace digest.
set -euo pipefail
gcc_bin=$1 clang_bin=$2 scenario=${3:-scenarios/v1-battle} seed=${4:-7}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$gcc_bin" sim "$scenario" --seed "$seed" > "$tmp/gcc" &
"$clang_bin" sim "$scenario" --seed "$seed" > "$tmp/clang" &
wait %1 && wait %2
g=$(grep '^trace-digest ' "$tmp/gcc" | cut -d' ' -f2)
c=$(grep '^trace-digest ' "$tmp/clang" | cut -d' ' -f2)
echo "cross-compiler digest, $scenario seed $seed: gcc $g, clang $c"
if [ -z "$g" ] || [ "$g" != "$c" ]; then
  echo "FAIL: the two compilers disagree"
  diff "$tmp/gcc" "$tmp/clang" || true
  exit 1
fi
echo "cross-compiler digest: ok"
