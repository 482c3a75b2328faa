#!/usr/bin/env bash
# `aether economy audit` and `rollback` as an operator runs them (docs/persistence.md, "Audit and
# rollback"), on SQLite files and on a real PostgreSQL (the postgres fixture: AETHER_PG_CONNINFO):
# the sim writes every vault's store, the audit passes (exit 0), a player is rolled back (a dry run
# appends nothing, --apply appends, a second --apply appends nothing) and the audit still passes;
# an entry deleted behind the stores' back makes the audit fail (exit 1) naming that entry.
# Usage: economy_audit_test.sh AETHER_BINARY
set -euo pipefail
aether=$1
work=$(mktemp -d /tmp/aether-econ-audit.XXXXXX)
schemas=()
cleanup() {
  for s in "${schemas[@]}"; do psql "$AETHER_PG_CONNINFO" -qc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect CODE PATTERN COMMAND...: the command exits CODE and prints a line matching PATTERN.
expect() {
  local code=$1 pattern=$2
  shift 2
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [[ $rc == "$code" ]] || { echo "$out"; fail "$* exited $rc, expected $code"; }
  grep -qE -- "$pattern" <<<"$out" || { echo "$out"; fail "$*: no line matching '$pattern'"; }
  last_out=$out
}

# check STORE_ARGS... for one backend: $1 names it, the rest are the four stores' audit arguments;
# rollback_store is the first vault's, damage runs SQL that deletes ledger entry 50 of the second.
check() {
  local name=$1
  shift
  expect 0 'audit: conservation holds' "$aether" economy audit "$@"
  expect 0 'currency: paid [1-9][0-9]* - taken [1-9]' "$aether" economy audit "$@"
  expect 0 'dry run: nothing appended' "$aether" economy rollback "${rollback_store[@]}" --player 1001 --after 200
  # By time: the simulator's calendars start at 2026-01-01T00:00:00Z; 30 s into the play.
  expect 0 'the first entry stamped after 2026-01-01T00:00:30.000Z is entry [0-9]+ \(2026-01-01T00:00:3' \
    "$aether" economy rollback "${rollback_store[@]}" --player 1001 --after-time 2026-01-01T00:00:30Z
  grep -qE '^  undo  entry [0-9]+ \(2026-01-01T00:0[0-9]:[0-9.]+Z\): ' <<<"$last_out" || fail "$name: the rollback by time undid nothing"
  expect 2 'want 2026-12-07T21:30:00Z' "$aether" economy rollback "${rollback_store[@]}" --player 1001 --after-time yesterday
  expect 2 'give the point' "$aether" economy rollback "${rollback_store[@]}" --player 1001
  expect 0 "the store's audit holds" "$aether" economy rollback "${rollback_store[@]}" --player 1001 --after 200 --apply
  grep -qE '^  CANNOT undo entry [0-9]+ \([^)]*\): .*(traded on|trade)' <<<"$last_out" || fail "$name: the rollback reported nothing it could not undo"
  expect 0 'nothing to append' "$aether" economy rollback "${rollback_store[@]}" --player 1001 --after 200 --apply
  expect 0 'restored [1-9]' "$aether" economy audit "$@"
  damage
  expect 1 'entry 50: unreadable: ledger entry 50 fails its checksum or is missing' "$aether" economy audit "$@"
  grep -q 'audit: VIOLATION' <<<"$last_out" || fail "$name: no verdict"
  expect 1 'rollback refused' "$aether" economy rollback "${damaged_store[@]}" --player 2001 --after 1
  echo "ok: $name"
}

# SQLite.
expect 0 'conservation holds' "$aether" economy sim --seed 1 --store-dir "$work/sqlite"
sqlite_args=()
for n in 301 302 303 304; do sqlite_args+=(--store "$work/sqlite/vault-$n.sqlite"); done
rollback_store=(--store "$work/sqlite/vault-301.sqlite")
damaged_store=(--store "$work/sqlite/vault-302.sqlite")
damage() {  # Python's sqlite3 module: python3 is a dependency already, the sqlite3 shell is not
  python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute("DELETE FROM ledger WHERE seq = 50"); db.commit()' "$work/sqlite/vault-302.sqlite"
}
expect 2 'no such file' "$aether" economy audit --store "$work/none.sqlite"
[[ ! -e "$work/none.sqlite" ]] || fail "the audit created a file"
check sqlite "${sqlite_args[@]}"

# PostgreSQL: a schema per vault in the fixture's database.
[[ -n "${AETHER_PG_CONNINFO:-}" ]] || fail "AETHER_PG_CONNINFO is not set: start scripts/postgres.sh (ctest's postgres fixture does)"
tag=$$
for n in 301 302 303 304; do
  schemas+=("econ_${tag}_$n")
  psql "$AETHER_PG_CONNINFO" -qc "CREATE SCHEMA econ_${tag}_$n" >/dev/null
done
pg() { echo "$AETHER_PG_CONNINFO options='-csearch_path=econ_${tag}_$1'"; }
expect 0 'conservation holds' "$aether" economy sim --seed 1 --store "postgres:$(pg '{node}')"
pg_args=()
for n in 301 302 303 304; do pg_args+=(--postgres "$(pg $n)"); done
rollback_store=(--postgres "$(pg 301)")
damaged_store=(--postgres "$(pg 302)")
damage() { psql "$AETHER_PG_CONNINFO" -qc "DELETE FROM econ_${tag}_302.ledger WHERE seq = 50" >/dev/null; }
check postgres "${pg_args[@]}"
