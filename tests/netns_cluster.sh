#!/usr/bin/env bash
# A multi-host cluster on one machine: every server in its own network namespace (veth links to one
# bridge, `tc netem` delay and loss on each link where the kernel has netem), the bots in another,
# playing through a compute node kill (SIGKILL), a leader kill (SIGKILL) and a rolling upgrade (every
# server stopped with SIGTERM and started again, one at a time, each waited for on /readyz), then
# checked from the traces (`aether trace check`: one writer per entity, recovery) and the bots'
# metrics (every bot playing at the end).
#   usage: netns_cluster.sh path/to/aether        (as root: ip netns, veth, tc)
set -euo pipefail
aether=$(readlink -f "$1")
[ "$(id -u)" = 0 ] || { echo "netns cluster: run as root"; exit 1; }
bots=${AETHER_NETNS_BOTS:-60}
work=$(mktemp -d)
prefix=aeth$$
bridge=${prefix}br
declare -A ip=([c1]=10.77.0.1 [c2]=10.77.0.2 [k1]=10.77.0.11 [k2]=10.77.0.12 [k3]=10.77.0.13 [g1]=10.77.0.21 [g2]=10.77.0.22 [b]=10.77.0.31)
declare -A pid=()
hosts=(c1 c2 k1 k2 k3 g1 g2 b)

cleanup() {
  for h in "${!pid[@]}"; do kill -9 "${pid[$h]}" 2>/dev/null || true; done
  for h in "${hosts[@]}"; do ip netns del "$prefix-$h" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.err; do echo "--- $f"; tail -5 "$f"; done; exit 1; }

# ---- the network -------------------------------------------------------------------------------
ip link add "$bridge" type bridge
ip addr add 10.77.0.254/24 dev "$bridge"   # the test itself reads every /metrics from here
ip link set "$bridge" up
netem=yes
for h in "${hosts[@]}"; do
  ns="$prefix-$h"
  ip netns add "$ns"
  ip link add "${prefix}$h" type veth peer name eth0 netns "$ns"
  ip link set "${prefix}$h" master "$bridge" up
  ip -n "$ns" addr add "${ip[$h]}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  if [ "$netem" = yes ] && ! ip netns exec "$ns" tc qdisc add dev eth0 root netem delay 2ms 1ms loss 0.1% 2>/dev/null; then
    netem=no
  fi
done
[ "$netem" = yes ] && echo "links: 2 ms ± 1 ms delay, 0.1% loss (tc netem) on every host" \
                   || echo "links: this kernel has no netem qdisc (sch_netem): veth links without added delay or loss"

# ---- the processes -----------------------------------------------------------------------------
declare -A gen=()
config() {  # config HOST GENERATION: writes the config file of that start
  local h=$1 g=$2
  local f="$work/$h-$g.textpb"
  {
    echo "log_level: \"warn\""
    echo "metrics_address: \"${ip[$h]}:9100\""
    case $h in
      c1|c2)
        local me=${h#c} other=$(( 3 - ${h#c} ))
        echo "node_id: $me"; echo "listen_address: \"${ip[$h]}:7000\""
        echo "peer_address: \"${ip[c$other]}:7000\""; echo "peer_node_id: $other"
        echo "start_as_vice: true"; echo "compute_nodes: 3" ;;
      k*) echo "node_id: $((100 + ${h#k}))"; echo "listen_address: \"${ip[$h]}:7100\"" ;;
      g*) echo "node_id: $((200 + ${h#g}))"; echo "listen_address: \"${ip[$h]}:7200\"" ;;
      b)  echo "gateway_address: \"${ip[g1]}:7200\""; echo "bots: $bots"; echo "connections_per_address_max: 1024" ;;
    esac
    case $h in
      k*|g*) echo "coordinator_addresses: \"${ip[c1]}:7000\""; echo "coordinator_addresses: \"${ip[c2]}:7000\"" ;;
    esac
    case $h in
      b) ;;
      *) echo "data_dir: \"$work/data-$h\""; echo "trace_file: \"$work/$h-$g.trace\"" ;;
    esac
  } >"$f"
}
start() {  # start HOST
  local h=$1 role
  case $h in c*) role=coordinator ;; k*) role=compute ;; g*) role=gateway ;; b) role=bot ;; esac
  local g=$(( ${gen[$h]:-0} + 1 ))
  gen[$h]=$g
  config "$h" "$g"
  ip netns exec "$prefix-$h" "$aether" "$role" --config "$work/$h-$g.textpb" >"$work/$h-$g.out" 2>"$work/$h-$g.err" &
  pid[$h]=$!
}
get() { timeout 5 bash -c "exec 3<>/dev/tcp/${ip[$1]}/9100; printf 'GET $2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; cat <&3" 2>/dev/null | tr -d '\r' || true; }
metric() { get "$1" /metrics | awk -v s="$2" '$1 == s { print $2 }'; }
ready() { [[ $(get "$1" /readyz | head -1) == "HTTP/1.1 200"* ]]; }
wait_until() {  # wait_until SECONDS WHAT COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "not within the time: $what"
    sleep 0.5
  done
}
playing() { [ "$(metric b 'aether_bots_playing{role="bot"}')" = "$bots" ]; }
# Always status 0 (set -e: `lead=$(leader)` must not stop the test when the last one asked leads not).
leader() { for c in c1 c2; do [ "$(metric "$c" "aether_coordinator_leader{node=\"${c#c}\",role=\"coordinator\"}")" = 1 ] && echo "$c"; done; return 0; }
one_leader() { [ "$(leader | wc -l)" = 1 ]; }
all_ready() { for h in c1 c2 k1 k2 k3 g1 g2; do [ -n "${pid[$h]:-}" ] && { ready "$h" || return 1; }; done; return 0; }

for h in c1 c2 k1 k2 k3 g1 g2; do start "$h"; done
wait_until 30 "every server ready" all_ready
start b
wait_until 60 "all $bots bots playing" playing
echo "cluster up: leader $(leader), $bots bots playing"
sleep 5

# ---- a compute node killed ---------------------------------------------------------------------
victim=k2
held=$(metric k2 'aether_entities{node="102",role="compute"}')
kill -9 "${pid[$victim]}"; unset "pid[$victim]"
echo "killed compute 102 (SIGKILL) holding $held entities"
lead=$(leader)
lost() { [ "$(metric "$lead" "aether_coordinator_nodes_lost_total{node=\"${lead#c}\",role=\"coordinator\"}")" -ge 1 ]; }
wait_until 15 "compute 102 declared lost" lost
sleep 3
wait_until 20 "all bots playing after the node kill" playing
echo "after the node kill: $(metric "$lead" "aether_coordinator_recoveries_total{node=\"${lead#c}\",role=\"coordinator\"}") recoveries, every bot playing"
start k2
wait_until 30 "compute 102 back and ready" ready k2

# ---- the leader killed -------------------------------------------------------------------------
lead=$(leader)
kill -9 "${pid[$lead]}"; unset "pid[$lead]"
echo "killed the leader, coordinator ${lead#c} (SIGKILL)"
other=c$(( 3 - ${lead#c} ))
took_over() { [ "$(leader)" = "$other" ]; }
wait_until 15 "coordinator ${other#c} taking over" took_over
sleep 3
wait_until 20 "all bots playing after the leader kill" playing
echo "after the leader kill: coordinator ${other#c} leads, every bot playing"
start "$lead"
wait_until 30 "coordinator ${lead#c} back as a ready vice" ready "$lead"

# ---- a rolling upgrade: every server drained (SIGTERM) and started again, one at a time ---------
for h in k1 k2 k3 g2 g1 c1 c2; do
  p=${pid[$h]}
  kill -TERM "$p"
  wait_until 40 "$h draining and exiting on SIGTERM" bash -c "! kill -0 $p 2>/dev/null"
  wait "$p" || fail "$h exited $? on SIGTERM"
  unset "pid[$h]"
  start "$h"
  wait_until 30 "$h ready again" ready "$h"
  wait_until 20 "every bot playing after $h was upgraded" playing
  echo "upgraded $h: drained, restarted, ready; every bot playing"
done
wait_until 10 "one leader" one_leader

# ---- the traces --------------------------------------------------------------------------------
for h in "${!pid[@]}"; do kill -INT "${pid[$h]}" 2>/dev/null || true; done
for h in "${!pid[@]}"; do wait "${pid[$h]}" 2>/dev/null || true; done
pid=()
"$aether" trace check "$work"/*.trace >"$work/check.out" 2>&1 || { cat "$work/check.out"; fail "trace check"; }
tail -3 "$work/check.out"
echo "netns cluster: passed ($(ls "$work"/*.trace | wc -l) trace files)"
