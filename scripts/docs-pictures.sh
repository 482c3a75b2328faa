#!/usr/bin/env bash
# Regenerates the example pictures in docs/pictures/ (referenced from docs/observability.md) from two
# seeded simulator runs, so they are the same on every machine:
#   node-crash, seed 3: compute 102 crashes at 20 s; its entities are recovered on 101 and 103.
#   coordinator-failover, seed 1: the leader coordinator crashes at 15 s; the vice takes over at epoch 2.
# Usage: bash scripts/docs-pictures.sh [path/to/aether]   (default build/bin/aether; needs graphviz's dot)
set -euo pipefail
cd "$(dirname "$0")/.."
aether=${1:-build/bin/aether}
out=docs/pictures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

"$aether" sim scenarios/node-crash --seed 3 --trace "$tmp/nc.trace" --log-level error | tail -n 2
"$aether" viz graph "$tmp/nc.trace" --at-s 19.5 -o "$tmp/node-crash-before.svg"
"$aether" viz graph "$tmp/nc.trace" --at-s 21.5 -o "$tmp/node-crash-after.svg"
"$aether" viz timeline "$tmp/nc.trace" -o "$out/node-crash-timeline.html"
"$aether" viz charts "$tmp/nc.trace" -o "$out/node-crash-charts.html"
# The per-entity page follows the first entity the coordinator recovered after the crash.
"$aether" trace dump "$tmp/nc.trace" > "$tmp/nc.jsonl"
entity=$(grep -m1 '"node":1,.*"kind":"ownership_granted","a":[0-9]*,"b":1}' "$tmp/nc.jsonl" | sed 's/.*"entity":\([0-9]*\).*/\1/')
"$aether" viz entity "$tmp/nc.trace" --entity "$entity" -o "$out/node-crash-entity.html"
cp "$tmp/node-crash-before.svg" "$tmp/node-crash-after.svg" "$out/"

"$aether" sim scenarios/coordinator-failover --seed 1 --trace "$tmp/cf.trace" --log-level error | tail -n 2
"$aether" viz timeline "$tmp/cf.trace" -o "$out/coordinator-failover-timeline.html"
"$aether" viz graph "$tmp/cf.trace" --at-s 17 -o "$tmp/coordinator-failover-after.svg"
cp "$tmp/coordinator-failover-after.svg" "$out/"
ls -l "$out"
