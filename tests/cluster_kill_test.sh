#!/usr/bin/env bash
# Multi-process failure test, on loopback only, in about 30 s:
#
#   coordinators 1 (leader) and 2 (vice), compute nodes 101 102 103, gateways 201 202, and two bot
#   processes of 60 bots each (one per gateway), every role its own OS process writing its own trace;
#   first SIGTERM compute 101 (a graceful stop: it must hand its entities over and exit 0 drained,
#   well before its drain deadline) and start it again; then SIGKILL compute 102, later SIGKILL
#   coordinator 1 (the leader), later SIGINT the rest (a stop at once, no drain).
#
# Passes when `aether trace check` finds no violation over all the traces (one writer per entity;
# the lost node's entities written again within the recovery target after the loss was detected), the
# vice took over at epoch 2, compute 102's entities were re-granted (kOwnershipGranted with b=1 by a
# coordinator), and no process died or failed on its own.
#
# Usage: bash tests/cluster_kill_test.sh AETHER_BINARY
# Env:   KEEP_WORK=1 keeps the temporary directory (it is always kept on failure).

set -u
set -o pipefail
export LC_ALL=C

AETHER=${1:?usage: cluster_kill_test.sh AETHER_BINARY}
[[ -x $AETHER ]] || { echo "cluster kill test: $AETHER is not an executable" >&2; exit 2; }
AETHER=$(cd "$(dirname "$AETHER")" && pwd)/$(basename "$AETHER")

RECOVERY_TARGET_MS=500   # 300 ms (three ticks) + 200 ms of slack for real-time jitter
BOTS_PER_GATEWAY=60
SETTLE_S=6               # after the bots start, before stopping compute 101
DRAIN_TIMEOUT_S=8        # SIGTERM to compute 101 until it must have drained and exited
AFTER_DRAIN_S=3          # compute 101 restarted, before killing compute 102
AFTER_COMPUTE_KILL_S=6   # before killing coordinator 1
AFTER_LEADER_KILL_S=8    # before stopping everything
STOP_TIMEOUT_S=10        # SIGTERM to SIGKILL for stragglers

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aether-cluster-kill.XXXXXX")
declare -A PID=()      # process name -> pid
declare -A STATUS=()   # process name -> exit status once reaped
ORDER=()               # process names in start order
FAILED=0

log() { echo "[$(date +%T.%3N)] $*"; }

fail() {
  echo "cluster kill test: FAILED: $*"
  FAILED=1
}

kill_all_now() {
  local n
  for n in "${!PID[@]}"; do
    [[ -n ${STATUS[$n]:-} ]] || kill -9 "${PID[$n]}" 2>/dev/null
  done
  for n in "${!PID[@]}"; do
    [[ -n ${STATUS[$n]:-} ]] || wait "${PID[$n]}" 2>/dev/null
  done
}

on_exit() {
  kill_all_now
  if [[ $FAILED == 0 && ${KEEP_WORK:-0} != 1 ]]; then rm -rf "$WORK"; else echo "cluster kill test: files kept in $WORK"; fi
}
trap on_exit EXIT
trap 'fail "interrupted"; exit 1' INT TERM

# Free loopback ports, asked of the OS (bind to port 0) all at once so they differ; compute nodes
# listen on port 0 themselves and tell the coordinator their address.
free_ports() {
  if command -v python3 >/dev/null; then
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
  else
    local i out=""
    for ((i = 0; i < $1; i++)); do out+="$((20000 + (RANDOM * 32768 + RANDOM + $$ * 7 + i * 1009) % 40000)) "; done
    echo "$out"
  fi
}

# Running (an exited child stays a zombie until reaped, and kill -0 still reaches a zombie).
alive() {
  [[ -z ${STATUS[$1]:-} ]] || return 1
  local state
  state=$(awk '{print $3}' "/proc/${PID[$1]}/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# Reaps a process that has exited (waited for), recording its status.
reap() {
  local n=$1
  [[ -n ${STATUS[$n]:-} ]] && return 0
  wait "${PID[$n]}" 2>/dev/null
  STATUS[$n]=$?
}

start() {  # name role
  local name=$1 role=$2
  "$AETHER" "$role" --config "$WORK/$name.textpb" >"$WORK/$name.log" 2>&1 &
  PID[$name]=$!
  ORDER+=("$name")
}

write_configs() {  # coordinator-1 port, coordinator-2 port, gateway-201 port, gateway-202 port
  local c1=127.0.0.1:$1 c2=127.0.0.1:$2 g1=127.0.0.1:$3 g2=127.0.0.1:$4
  local common="log_level: \"warn\"
duration_s: 90
arena_m: 400"
  cat >"$WORK/coordinator-1.textpb" <<EOF
node_id: 1
listen_address: "$c1"
data_dir: "$WORK/data"
peer_address: "$c2"
peer_node_id: 2
trace_file: "$WORK/coordinator-1.trace"
teams: 2
$common
EOF
  cat >"$WORK/coordinator-2.textpb" <<EOF
node_id: 2
listen_address: "$c2"
data_dir: "$WORK/data"
peer_address: "$c1"
peer_node_id: 1
start_as_vice: true
trace_file: "$WORK/coordinator-2.trace"
teams: 2
$common
EOF
  local n
  for n in 101 102 103; do
    cat >"$WORK/compute-$n.textpb" <<EOF
node_id: $n
listen_address: "127.0.0.1:0"
data_dir: "$WORK/data"
coordinator_addresses: "$c1"
coordinator_addresses: "$c2"
trace_file: "$WORK/compute-$n.trace"
view_radius_m: 50
fire_range_m: 30
$common
EOF
  done
  for n in 201 202; do
    local listen=$g1
    [[ $n == 202 ]] && listen=$g2
    cat >"$WORK/gateway-$n.textpb" <<EOF
node_id: $n
listen_address: "$listen"
data_dir: "$WORK/data"
coordinator_addresses: "$c1"
coordinator_addresses: "$c2"
trace_file: "$WORK/gateway-$n.trace"
view_radius_m: 50
$common
EOF
  done
  for n in 201 202; do
    local gw=$g1
    [[ $n == 202 ]] && gw=$g2
    cat >"$WORK/bots-$n.textpb" <<EOF
gateway_address: "$gw"
bots: $BOTS_PER_GATEWAY
fire_range_m: 30
$common
EOF
  done
}

SERVERS=(coordinator-1 coordinator-2 compute-101 compute-102 compute-103 gateway-201 gateway-202)

# Starts the cluster; false if a process died or could not listen (a port taken meanwhile).
start_cluster() {
  PID=()
  STATUS=()
  ORDER=()
  rm -f "$WORK"/*.trace "$WORK"/*.log
  start coordinator-1 coordinator
  start coordinator-2 coordinator
  sleep 0.3
  start compute-101 compute
  start compute-102 compute
  start compute-103 compute
  start gateway-201 gateway
  start gateway-202 gateway
  sleep 1
  start bots-201 bot
  start bots-202 bot
  sleep 0.5
  local n
  for n in "${ORDER[@]}"; do
    if ! alive "$n"; then
      log "$n exited at start-up"
      return 1
    fi
    if grep -q "cannot listen" "$WORK/$n.log"; then
      log "$n could not listen: $(grep -m1 "cannot listen" "$WORK/$n.log")"
      return 1
    fi
  done
  return 0
}

started=0
for attempt in 1 2 3; do
  read -r P1 P2 P3 P4 < <(free_ports 4)
  write_configs "$P1" "$P2" "$P3" "$P4"
  log "attempt $attempt: coordinators on $P1 $P2, gateways on $P3 $P4, work dir $WORK"
  if start_cluster; then
    started=1
    break
  fi
  kill_all_now
done
[[ $started == 1 ]] || { fail "the cluster did not start in 3 attempts"; for n in "${ORDER[@]}"; do echo "--- $n.log"; tail -n 20 "$WORK/$n.log"; done; exit 1; }

# Every process must still be running, except those we killed.
check_running() {  # what-we-are-about-to-do, names...
  local what=$1 n
  shift
  for n in "$@"; do
    if ! alive "$n"; then
      reap "$n"
      fail "$n exited on its own (status ${STATUS[$n]}) before $what"
    fi
  done
}

sleep "$SETTLE_S"
check_running "stopping compute 101" "${ORDER[@]}"
log "SIGTERM compute 101 (pid ${PID[compute-101]}): a graceful stop"
kill -TERM "${PID[compute-101]}"
deadline=$((SECONDS + DRAIN_TIMEOUT_S))
while alive compute-101 && ((SECONDS < deadline)); do sleep 0.1; done
if alive compute-101; then
  fail "compute 101 did not drain within ${DRAIN_TIMEOUT_S} s of SIGTERM"
  kill -9 "${PID[compute-101]}"
fi
reap compute-101
[[ ${STATUS[compute-101]} == 0 ]] || fail "compute 101 exited with status ${STATUS[compute-101]} after SIGTERM"
grep -q "aether: drained; stopping" "$WORK/compute-101.log" || fail "compute 101 stopped without saying it drained: $(tail -n 3 "$WORK/compute-101.log")"
cp "$WORK/compute-101.trace" "$WORK/compute-101-first.trace"
cp "$WORK/compute-101.log" "$WORK/compute-101-first.log"
unset "STATUS[compute-101]"
start compute-101 compute
sleep "$AFTER_DRAIN_S"
check_running "killing compute 102" "${ORDER[@]}"
log "SIGKILL compute 102 (pid ${PID[compute-102]})"
kill -9 "${PID[compute-102]}"
reap compute-102

sleep "$AFTER_COMPUTE_KILL_S"
check_running "killing coordinator 1" coordinator-1 coordinator-2 compute-101 compute-103 gateway-201 gateway-202 bots-201 bots-202
log "SIGKILL coordinator 1, the leader (pid ${PID[coordinator-1]})"
kill -9 "${PID[coordinator-1]}"
reap coordinator-1

sleep "$AFTER_LEADER_KILL_S"
SURVIVORS=(bots-201 bots-202 gateway-201 gateway-202 compute-101 compute-103 coordinator-2)
check_running "stopping" "${SURVIVORS[@]}"
log "SIGINT to everything left"
for n in "${SURVIVORS[@]}"; do alive "$n" && kill -INT "${PID[$n]}"; done
deadline=$((SECONDS + STOP_TIMEOUT_S))
for n in "${SURVIVORS[@]}"; do
  while alive "$n" && ((SECONDS < deadline)); do sleep 0.1; done
  if alive "$n"; then
    echo "WARNING: $n did not stop within ${STOP_TIMEOUT_S} s of SIGINT: SIGKILL"
    kill -9 "${PID[$n]}"
    fail "$n ignored SIGINT for ${STOP_TIMEOUT_S} s"
  fi
  reap "$n"
  # A process that got our SIGINT in time exits 0; anything else is a crash or an error.
  [[ ${STATUS[$n]} == 0 ]] || fail "$n exited with status ${STATUS[$n]} after SIGINT"
done
log "all processes stopped"

# 1. The ownership check over every trace, the killed processes' ones included.
TRACES=()
for n in "${SERVERS[@]}"; do TRACES+=("$WORK/$n.trace"); done
TRACES+=("$WORK/compute-101-first.trace")  # its first process, stopped gracefully
"$AETHER" trace check --recovery-target-ms "$RECOVERY_TARGET_MS" "${TRACES[@]}" >"$WORK/trace-check.txt" 2>&1
check_status=$?
cat "$WORK/trace-check.txt"
[[ $check_status == 0 ]] || fail "aether trace check exited with $check_status"
lost=$(sed -n 's/^compute nodes lost \([0-9]*\);.*/\1/p' "$WORK/trace-check.txt")
measured=$(sed -n 's/.*recoveries measured \([0-9]*\),.*/\1/p' "$WORK/trace-check.txt")
[[ ${lost:-0} -ge 1 ]] || fail "the traces show no compute node declared lost"
[[ ${measured:-0} -ge 1 ]] || fail "no recovery was measured (compute 102 owned nothing at its last record?)"

# 2. The vice took over: a kLeaderElected record from coordinator 2 at epoch 2 (a = epoch).
dump() { "$AETHER" trace dump "$WORK/$1.trace" 2>>"$WORK/dump-errors.txt"; }
for n in "${SERVERS[@]}"; do dump "$n" >"$WORK/$n.jsonl" || fail "aether trace dump of $n.trace failed"; done
if grep -q '"node":2,.*"kind":"leader_elected","a":2,' "$WORK/coordinator-2.jsonl"; then
  log "coordinator 2 was elected leader at epoch 2"
else
  fail "no kLeaderElected record from coordinator 2 at epoch 2"
fi
grep -q "coordinator: leader at epoch 2" "$WORK/coordinator-2.log" || fail "coordinator 2 did not end as leader at epoch 2 (its summary: $(grep -m1 '^coordinator:' "$WORK/coordinator-2.log"))"

# 3. Compute 102's entities were re-granted by a coordinator (kOwnershipGranted with b=1): every entity
#    compute 102 still owned at its last record shows up in a recovery grant recorded by compute 101
#    or 103 (peer = the granting coordinator). The coordinators' own records of those grants are
#    counted too (informational: traces are written through, so a SIGKILLed coordinator keeps every
#    record it made, but its last grants may still be in flight when it dies).
entities_of() { sed -n 's/.*"entity":\([0-9]*\),.*/\1/p' | sort -u; }
# Owned at the last record = the entity's last ownership record in compute 102's trace is a grant
# (not a migration release, a revoke or a despawn); an entity may leave and come back.
grep -E '"kind":"(ownership_granted|migration_released|ownership_revoked|entity_despawned)"' "$WORK/compute-102.jsonl" |
  sed -n 's/.*"entity":\([0-9]*\),.*"kind":"\([a-z_]*\)".*/\1 \2/p' |
  awk '{ last[$1] = $2 } END { for (e in last) if (last[e] == "ownership_granted") print e }' | sort -u >"$WORK/e102.txt"
grep -hE '"peer":(1|2),"kind":"ownership_granted",.*"b":1\}' "$WORK/compute-101.jsonl" "$WORK/compute-103.jsonl" | entities_of >"$WORK/recovered.txt"
cat "$WORK/coordinator-1.jsonl" "$WORK/coordinator-2.jsonl" | grep -E '^\{"time_ns":[0-9]*,"node":(1|2),.*"kind":"ownership_granted",.*"b":1\}' | entities_of >"$WORK/regranted.txt"
owned102=$(wc -l <"$WORK/e102.txt")
recovered=$(comm -12 "$WORK/e102.txt" "$WORK/recovered.txt" | wc -l)
regranted=$(comm -12 "$WORK/e102.txt" "$WORK/regranted.txt" | wc -l)
log "compute 102 owned $owned102 entities at its last record; $recovered re-granted (b=1) by a coordinator to compute 101/103 (their traces); $regranted of those grants in the coordinators' traces"
[[ $owned102 -ge 1 ]] || fail "compute 102 owned no entity when it was killed"
[[ $recovered == "$owned102" ]] || fail "only $recovered of compute 102's $owned102 entities were re-granted with b=1 to compute 101/103: missing $(comm -23 "$WORK/e102.txt" "$WORK/recovered.txt" | head -5 | tr '\n' ' ')"

if [[ $FAILED != 0 ]]; then
  for n in "${ORDER[@]}"; do
    echo "--- tail of $n.log (status ${STATUS[$n]:-?})"
    tail -n 15 "$WORK/$n.log"
  done
  exit 1
fi
echo "cluster kill test: ok"
