#!/usr/bin/env bash
# A private PostgreSQL server for development and the tests (Debian's postgresql 15; docs/persistence.md).
#
#   scripts/postgres.sh start   initdb (first time), start, create role and database; prints the connection string
#   scripts/postgres.sh stop    stops it (fast shutdown); nothing running is fine
#   scripts/postgres.sh url     prints the connection string (libpq key=value)
#   scripts/postgres.sh status  exit 0 when it runs
#
# Where and on which port: AETHER_PG_DIR (default /tmp/aether-pg-$(id -u)) and AETHER_PG_PORT
# (default 55432). The server listens on a unix socket in $AETHER_PG_DIR/sock only (no TCP), trusts
# local connections, and runs as the postgres user: PostgreSQL refuses to run as root, so as root
# the directory is handed to postgres and pg_ctl runs through runuser. Idempotent: start on a
# running server only prints the string.
set -euo pipefail

dir=${AETHER_PG_DIR:-/tmp/aether-pg-$(id -u)}
port=${AETHER_PG_PORT:-55432}
bin=${AETHER_PG_BIN:-/usr/lib/postgresql/15/bin}
db=aether
role=aether
data=$dir/data
sock=$dir/sock

url() { echo "host=$sock port=$port dbname=$db user=$role"; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [ -f "$data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

psql_admin() { as_pg /usr/bin/psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres "$@"; }

start() {
  [ -x "$bin/pg_ctl" ] || { echo "postgres.sh: $bin/pg_ctl not found (bash scripts/install-deps.sh installs postgresql)" >&2; exit 1; }
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  chmod 700 "$dir"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg mkdir -p "$sock"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  # The socket directory must be reachable by clients that are not postgres (the tests run as root or you).
  chmod 755 "$dir"
  as_pg mkdir -p "$sock"
  if ! running; then
    as_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $sock -c listen_addresses= -c max_connections=100" start >/dev/null \
      || { echo "postgres.sh: the server did not start; its log:" >&2; tail -n 30 "$dir/server.log" >&2; exit 1; }
  fi
  psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$role'" | grep -q 1 || psql_admin -c "CREATE ROLE $role LOGIN"
  psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 || psql_admin -c "CREATE DATABASE $db OWNER $role"
  url
}

stop() {
  if running; then as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null; fi
  echo "postgres.sh: stopped ($dir)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  status) running ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
