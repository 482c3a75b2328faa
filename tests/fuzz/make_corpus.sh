#!/usr/bin/env bash
# Regenerates the seed corpus (tests/fuzz/corpus/) and the text dictionaries (tests/fuzz/dict/):
# binary seeds from the real encoders (fuzz_make_corpus, built by the fuzz preset), text seeds from
# the scenarios and configs in the tree, dictionary words from the proto schemas.
# Usage: tests/fuzz/make_corpus.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
rm -rf corpus dict
mkdir -p corpus/scenario corpus/role_config dict
"$build/bin/fuzz_make_corpus" corpus

cp "$root"/scenarios/*.textpb corpus/scenario/
for f in "$root"/tests/chaos/*.textpb; do cp "$f" "corpus/scenario/chaos-${f##*/chaos-}"; done
# role_config: byte 0 picks the role (fuzz_role_config.cc: coordinator, compute, gateway, bot).
i=0
for role in coordinator compute gateway bot; do
  { printf "\\x$(printf %02x $i)"; cat "$root/config/$role.textpb"; } > "corpus/role_config/$role"
  i=$((i + 1))
done

# Field names (and, for scenarios, host names, fault kinds and moments) as dictionary words.
words() { sed -nE 's/^ *(repeated +)?[a-z0-9_.A-Z]+ +([a-z_0-9]+) *= *[0-9]+.*/\2/p' "$@" | sort -u | sed 's/.*/"&"/'; }
{
  words "$root/proto/scenario.proto"
  for w in '"@leader"' '"@vice"' '"coordinator-1"' '"compute-1"' '"gateway-1"' '"bot-1"' '" {"' '"}"' '": "' '"true"'; do echo "$w"; done
  # AdminOrder: roles, commands, outcomes (engine/net/admin_rule.h).
  for w in viewer operator admin nodes entity move drain failover ghost-query debug done refused failed; do echo "\"$w\""; done
  grep -ohE '"[a-z-]+"' <(sed -n '/fault_kind_names() {/,/^}/p;/moment_names() {/,/^}/p' "$root/app/faults.cc") | sort -u
} > dict/scenario.dict
{
  words "$root/proto/config.proto"
  for w in '"127.0.0.1:7000"' '"[::1]:7000"' '"localhost:0"' '"info"' '"debug"' '"json"' '"text"' '": "'; do echo "$w"; done
} > dict/role_config.dict
du -sh corpus dict
