#!/usr/bin/env bash
# A full restart loses no character or item (issue 14; docs/persistence.md §9d), with real processes:
#
#   run 1: `aether local` with bots that register, fight and loot (content/), its store a SQLite file;
#          SIGKILL mid-run (every component dies at once, nothing shut down);
#   audit: `aether economy characters` finds every item the loot ledger created held once or
#          accounted for, none held twice, every save readable;
#   run 2: the same bots log back in to the same accounts; SIGKILL again; audit again;
#   then every character that came back (a newer life) has at least its level and every item it
#   held at the first audit: its avatar spawned from its save.
#
# Usage: bash tests/character_restart_test.sh AETHER_BINARY CONTENT_DIR [sqlite|postgres]
#        postgres: the store is a fresh schema in AETHER_PG_CONNINFO's database (scripts/postgres.sh
#        start; ctest's postgres fixture sets it), dropped at the end.
# Env:   KEEP_WORK=1 keeps the temporary directory (it is always kept on failure).

set -u
set -o pipefail
export LC_ALL=C

AETHER=${1:?usage: character_restart_test.sh AETHER_BINARY CONTENT_DIR}
CONTENT=${2:?usage: character_restart_test.sh AETHER_BINARY CONTENT_DIR [sqlite|postgres]}
BACKEND=${3:-sqlite}
BOTS=60
RUN1_S=30        # long enough for kills, loot and several periodic saves (every 5 s)
RUN2_S=20        # every bot logged back in and saved at least once (its new life)
COME_BACK_MIN_PERCENT=80

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aether-character-restart.XXXXXX")
FAILED=0
PID=""
fail() { echo "character restart test: FAILED: $*"; FAILED=1; }
on_exit() {
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [[ $FAILED == 0 && ${KEEP_WORK:-0} != 1 ]]; then rm -rf "$WORK"; else echo "character restart test: files kept in $WORK"; fi
}
trap on_exit EXIT

STORE_ARGS=() AUDIT_ARGS=(--store "$WORK/data/local.sqlite") SCHEMA=""
if [[ $BACKEND == postgres ]]; then
  [[ -n ${AETHER_PG_CONNINFO:-} ]] || { fail "AETHER_PG_CONNINFO is not set: start scripts/postgres.sh (ctest's postgres fixture does)"; exit 1; }
  SCHEMA="charrestart_$$_$RANDOM"
  psql "$AETHER_PG_CONNINFO" -qc "CREATE SCHEMA $SCHEMA" >/dev/null || { fail "cannot create schema $SCHEMA"; exit 1; }
  PG="$AETHER_PG_CONNINFO options='-csearch_path=$SCHEMA'"
  STORE_ARGS=(--storage "postgres:$PG")
  AUDIT_ARGS=(--postgres "$PG")
elif [[ $BACKEND != sqlite ]]; then
  fail "backend $BACKEND: sqlite or postgres"
  exit 2
fi
drop_schema() { [[ -n $SCHEMA ]] && psql "$AETHER_PG_CONNINFO" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1; }
trap 'drop_schema; on_exit' EXIT

run_and_kill() {  # name seconds
  "$AETHER" local --bots "$BOTS" --duration 600 --nodes 2 --content "$CONTENT" --data-dir "$WORK/data" "${STORE_ARGS[@]}" --log-level warn >"$WORK/$1.log" 2>&1 &
  PID=$!
  sleep "$2"
  if ! kill -0 "$PID" 2>/dev/null; then
    fail "$1: aether local exited early (see $WORK/$1.log)"
    exit 1
  fi
  kill -9 "$PID"
  wait "$PID" 2>/dev/null
  PID=""
}

audit() {  # name
  "$AETHER" economy characters "${AUDIT_ARGS[@]}" --list >"$WORK/$1.audit" 2>&1
  local rc=$?
  grep -v '^character ' "$WORK/$1.audit"
  [[ $rc == 0 ]] || fail "$1: the audit found violations (exit $rc)"
}

run_and_kill run1 "$RUN1_S"
audit audit1
run_and_kill run2 "$RUN2_S"
audit audit2
[[ $FAILED == 0 ]] || exit 1

python3 - "$WORK/audit1.audit" "$WORK/audit2.audit" "$COME_BACK_MIN_PERCENT" <<'PY' || FAILED=1
import re, sys
def listing(path):
    out = {}
    for line in open(path):
        m = re.match(r"character (\d+) life (\d+) entity (\d+) class (\d+) level (\d+) experience (-?\d+) items \[(.*)\]", line)
        if m:
            out[m.group(1)] = (int(m.group(2)), int(m.group(5)), int(m.group(6)), set(m.group(7).split()))
    return out
first, second = listing(sys.argv[1]), listing(sys.argv[2])
need = int(sys.argv[3])
if not first:
    sys.exit("character restart test: FAILED: no character was saved in run 1")
looted = [c for c, v in first.items() if v[3]]
leveled = [c for c, v in first.items() if v[1] > 1]
if not looted or not leveled:
    sys.exit(f"character restart test: FAILED: run 1 saved {len(first)} characters but {len(looted)} held items and {len(leveled)} passed level 1: nothing to check")
came_back, bad = 0, []
for c, (life, level, xp, items) in first.items():
    if c not in second:
        bad.append(f"character {c}: its save is gone")
        continue
    life2, level2, xp2, items2 = second[c]
    if life2 < life:
        bad.append(f"character {c}: life {life2} after life {life}")
    if life2 == life:
        continue  # not saved in its new life before the kill
    came_back += 1
    if level2 < level or xp2 < xp:
        bad.append(f"character {c}: level {level2} experience {xp2} after level {level} experience {xp}")
    if not items <= items2:
        bad.append(f"character {c}: lost {sorted(items - items2)}")
print(f"run 1 saved {len(first)} characters ({len(looted)} with items, {len(leveled)} past level 1, "
      f"{sum(len(v[3]) for v in first.values())} items); {came_back} came back in run 2 with a newer life")
for b in bad:
    print("character restart test: FAILED:", b)
if bad:
    sys.exit(1)
if came_back * 100 < need * len(first):
    sys.exit(f"character restart test: FAILED: only {came_back} of {len(first)} characters came back (need {need}%)")
PY
[[ $FAILED == 0 ]] && echo "character restart test ($BACKEND): passed"
exit $FAILED
