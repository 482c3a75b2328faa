#!/usr/bin/env bash
# /metrics over real HTTP, checked by Prometheus's own promtool: `aether local` with 20 bots, then a
# lone `aether coordinator` process; /healthz and /readyz on both, and on processes that cannot be ready. Fetches with bash's /dev/tcp (no curl needed), checks that
# promtool accepts the exposition, that the key series are there with sane values, that other paths
# get 404 and garbage gets 400 without stopping the server.
#   usage: metrics_promtool_test.sh path/to/aether
set -euo pipefail
aether=$1
command -v promtool >/dev/null || { echo "promtool missing: bash scripts/install-deps.sh installs the Debian package prometheus"; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

# http_get HOST:PORT PATH-OR-RAW-REQUEST -> the whole answer (status line, headers, body) on stdout
http_raw() {
  local host=${1%:*} port=${1##*:}
  exec 3<>"/dev/tcp/$host/$port"
  printf '%b' "$2" >&3
  timeout 10 cat <&3
  exec 3<&- 3>&-
}
http_get() { http_raw "$1" "GET $2 HTTP/1.1\r\nHost: $1\r\nConnection: close\r\n\r\n"; }
body_of() { sed '1,/^\r$/d'; }

# wait_for_line FILE REGEX: the first matching line, within 20 s
wait_for_line() {
  for _ in $(seq 1 200); do
    if line=$(grep -m1 -E "$2" "$1"); then echo "$line"; return 0; fi
    sleep 0.1
  done
  fail "no line matching '$2' in $1: $(cat "$1")"
}

# value FILE SERIES: the value of the sample whose name and labels are exactly SERIES
value() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) exit 1 }' "$1" || fail "series $2 missing"; }
positive() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }' || fail "$2 = $1, expected > 0"; }

# ---- aether local -------------------------------------------------------------------------------
"$aether" local --bots 20 --duration 8 --log-level info --metrics 127.0.0.1:0 >"$work/local.out" 2>"$work/local.err" &
pids+=($!)
local_pid=$!
addr=$(wait_for_line "$work/local.out" 'metrics on http://' | sed -E 's|.*http://([^/]+)/metrics.*|\1|')
echo "aether local serves metrics on $addr"
sleep 4  # ticks, bots in the battle, bytes moving

answer=$(http_get "$addr" /metrics)
[[ $answer == "HTTP/1.1 200 OK"* ]] || fail "GET /metrics: $(head -1 <<<"$answer")"
grep -q $'^Content-Type: text/plain; version=0.0.4' <<<"$answer" || fail "content type"
body_of <<<"$answer" | tr -d '\r' >"$work/local.prom"
promtool check metrics <"$work/local.prom" || fail "promtool rejected the exposition (above)"
echo "promtool: $(wc -l <"$work/local.prom") lines accepted"

ticks=$(value "$work/local.prom" 'aether_ticks_total{node="101",role="compute"}')
positive "$ticks" ticks
entities=$(value "$work/local.prom" 'aether_entities{node="101",role="compute"}')
positive "$entities" entities
count=$(value "$work/local.prom" 'aether_tick_duration_seconds_count{node="101",role="compute"}')
inf=$(value "$work/local.prom" 'aether_tick_duration_seconds_bucket{node="101",role="compute",le="+Inf"}')
[ "$count" = "$inf" ] || fail "histogram count $count != +Inf bucket $inf"
within=$(value "$work/local.prom" 'aether_tick_duration_seconds_bucket{node="101",role="compute",le="0.1"}')
positive "$within" "ticks within the 0.1 s budget"
[ "$(value "$work/local.prom" 'aether_coordinator_leader{node="1",role="coordinator"}')" = 1 ] || fail "coordinator 1 does not lead"
positive "$(value "$work/local.prom" 'aether_coordinator_epoch{node="1",role="coordinator"}')" epoch
positive "$(value "$work/local.prom" 'aether_gateway_connections{node="201",role="gateway"}')" "gateway connections"
positive "$(value "$work/local.prom" 'aether_network_received_bytes_total{role="bot"}')" "bytes received by bots"
positive "$(value "$work/local.prom" 'aether_network_sent_bytes_total{node="101",role="compute"}')" "bytes sent by compute 101"
for q in input intent simulation output; do value "$work/local.prom" "aether_queue_depth{node=\"101\",role=\"compute\",queue=\"$q\"}" >/dev/null; done
! grep -q 'entity=' "$work/local.prom" || fail "an entity id as a label"
echo "series: ticks $ticks, entities $entities, ticks within budget $within of $count"

# Probes: /healthz (the loop answers) and /readyz (every server can do its job), as Kubernetes reads
# them: the status code, and a line per server saying why.
health=$(http_get "$addr" /healthz | tr -d '\r')
[[ $health == "HTTP/1.1 200 OK"* ]] || fail "GET /healthz: $(head -1 <<<"$health")"
grep -q '^alive: ' <<<"$health" || fail "/healthz body: $health"
ready=$(http_get "$addr" /readyz | tr -d '\r')
[[ $ready == "HTTP/1.1 200 OK"* ]] || fail "GET /readyz of a playing cluster: $ready"
for line in 'coordinator 1: ready (leader)' 'compute 101: ready (registered and leased)' 'gateway 201: ready (connected to the leader, accepting clients)'; do
  grep -qxF "$line" <<<"$ready" || fail "/readyz lacks '$line': $ready"
done
[[ $(http_raw "$addr" 'HEAD /readyz HTTP/1.1\r\n\r\n' | head -1) == "HTTP/1.1 200"* ]] || fail "HEAD /readyz is not 200"
http_get "$addr" /metrics | body_of | tr -d '\r' >"$work/ready.prom"
for s in 'aether_ready{node="1",role="coordinator"}' 'aether_ready{node="101",role="compute"}' 'aether_ready{node="201",role="gateway"}'; do
  [ "$(value "$work/ready.prom" "$s")" = 1 ] || fail "$s is not 1"
done
positive "$(value "$work/ready.prom" 'aether_probes_total')" "probes answered"
echo "probes: /healthz 200, /readyz 200 with every server ready"

# Targeted debug mode over the real admin path (an operator's order to the coordinator's admin
# listener, reaching the compute node's and the gateway's aether_debug_entities) is checked by
# tests/admin_listener_test.sh, against role processes with an admin listener.

# Other paths, other methods, garbage: answered and closed; the server keeps serving.
[[ $(http_get "$addr" /nope | head -1) == "HTTP/1.1 404 Not Found"* ]] || fail "GET /nope is not 404"
[[ $(http_raw "$addr" 'PUT /metrics HTTP/1.1\r\n\r\n' | head -1) == "HTTP/1.1 405"* ]] || fail "PUT is not 405"
[[ $(http_raw "$addr" '\x16\x03\x01 not http at all\r\n\r\n' | head -1) == "HTTP/1.1 400"* ]] || fail "garbage is not 400"
big=$(head -c 20000 /dev/zero | tr '\0' a)
[[ $(http_raw "$addr" "GET /metrics HTTP/1.1\r\nX-Pad: $big\r\n\r\n" | head -1) == "HTTP/1.1 431"* ]] || fail "oversized header is not 431"
http_get "$addr" /metrics | body_of | tr -d '\r' >"$work/again.prom"
requests=$(value "$work/again.prom" 'aether_metrics_requests_total')
[ "$requests" -ge 2 ] || fail "requests_total $requests"
positive "$(value "$work/again.prom" 'aether_metrics_refused_total{reason="bad_request"}')" "bad requests counted"
wait "$local_pid" || fail "aether local exited $?: $(cat "$work/local.err" | tail -5)"
grep -q 'metrics: refusing request' "$work/local.err" || fail "refusals were not logged"

# ---- one role per process -----------------------------------------------------------------------
cat >"$work/coordinator.textpb" <<EOF
node_id: 1
listen_address: "127.0.0.1:0"
data_dir: "$work/data"
duration_s: 4
log_level: "warn"
log_format: "json"
EOF
"$aether" coordinator --config "$work/coordinator.textpb" --metrics 127.0.0.1:0 >"$work/coord.out" 2>"$work/coord.err" &
pids+=($!)
coord_pid=$!
addr=$(wait_for_line "$work/coord.out" 'metrics on http://' | sed -E 's|.*http://([^/]+)/metrics.*|\1|')
http_get "$addr" /metrics | body_of | tr -d '\r' >"$work/coord.prom"
promtool check metrics <"$work/coord.prom" || fail "promtool rejected the coordinator's exposition"
[ "$(value "$work/coord.prom" 'aether_coordinator_leader{node="1",role="coordinator"}')" = 1 ] || fail "lone coordinator does not lead"
[ -n "$(value "$work/coord.prom" 'aether_storage_in_flight{node="1",role="coordinator"}')" ] || fail "the coordinator's store (SQLite in its data_dir) is not in /metrics"
[[ $(http_get "$addr" /readyz | head -1) == "HTTP/1.1 200 OK"* ]] || fail "a lone leading coordinator is not ready"
wait "$coord_pid" || fail "aether coordinator exited $?"

# Not ready, yet alive: a compute node and a gateway with no coordinator to reach, and a vice whose
# leader never answers. Each /readyz is 503 and says what is missing; each /healthz is 200.
for role in compute gateway coordinator; do
  {
    echo "node_id: $([ "$role" = coordinator ] && echo 2 || ([ "$role" = compute ] && echo 101 || echo 201))"
    echo 'listen_address: "127.0.0.1:0"'
    echo "data_dir: \"$work/data-$role\""
    echo 'duration_s: 6'
    echo 'log_level: "error"'
    if [ "$role" = coordinator ]; then
      echo 'peer_address: "127.0.0.1:1"'; echo 'peer_node_id: 1'; echo 'start_as_vice: true'
    else
      echo 'coordinator_address: "127.0.0.1:1"'
    fi
  } >"$work/$role-alone.textpb"
  "$aether" "$role" --config "$work/$role-alone.textpb" --metrics 127.0.0.1:0 >"$work/$role-alone.out" 2>"$work/$role-alone.err" &
  pids+=($!)
done
sleep 1
declare -A why=([compute]='compute 101: not ready (not registered: no lease yet)'
                [gateway]='gateway 201: not ready (no leading coordinator connected)'
                [coordinator]="coordinator 2: not ready (vice without a whole copy of the leader's table)")
for role in compute gateway coordinator; do
  addr=$(wait_for_line "$work/$role-alone.out" 'metrics on http://' | sed -E 's|.*http://([^/]+)/metrics.*|\1|')
  [[ $(http_get "$addr" /healthz | head -1) == "HTTP/1.1 200 OK"* ]] || fail "$role alone: /healthz is not 200"
  ready=$(http_get "$addr" /readyz | tr -d '\r')
  [[ $ready == "HTTP/1.1 503 Service Unavailable"* ]] || fail "$role alone: /readyz is not 503: $ready"
  grep -qxF "${why[$role]}" <<<"$ready" || fail "$role alone: /readyz does not say '${why[$role]}': $ready"
  http_get "$addr" /metrics | body_of | tr -d '\r' >"$work/$role-alone.prom"
  positive "$(value "$work/$role-alone.prom" 'aether_probes_failed_total')" "$role: failed probes counted"
done
echo "probes: compute, gateway and vice alone answer /healthz 200 and /readyz 503 with the reason"
echo "metrics promtool test: passed"
