#!/usr/bin/env bash
# The coordinator's admin listener over real sockets (docs/security.md, "Operators"), in about 15 s:
# a coordinator, a compute node and a gateway as separate processes under mutual TLS, the
# coordinator serving operators on admin_address (HTTPS), three operators (viewer, operator, admin)
# from `aether operator add`, and a second, lone coordinator with the admin epoch enabled. Checks:
#   - a viewer lists nodes but may not drain (403, nothing drained); an operator drains;
#   - a forced order (admin epoch) is refused to an operator, and to an admin where the admin epoch
#     is disabled; it is carried out for an admin where enabled, and aether_admin_epoch_uses_total
#     rises and an error line is logged;
#   - a debug order reaches the compute node and the gateway; a ghost query is relayed to the
#     compute node;
#   - a wrong secret and an unknown operator are refused (401, "authentication failed" and nothing
#     more) and counted by reason; past the per-address budget the next is 429 (rate_limited);
#   - a plain-TCP client on the admin port gets no HTTP answer, and is counted (tls_handshake);
#   - an AdminRequest framed on the coordinator's data port by a non-server identity (admin-1's
#     certificate, mutual TLS) is refused, its connection closed, counted and logged;
#   - every command is logged with operator, role, command, epoch and outcome;
#   - `aether operator remove` revokes an operator without a restart (the listener watches the file).
#
# Usage: bash tests/admin_listener_test.sh AETHER_BINARY     (KEEP_WORK=1 keeps the files)
set -u
set -o pipefail
export LC_ALL=C
AETHER=${1:?usage: admin_listener_test.sh AETHER_BINARY}
AETHER=$(cd "$(dirname "$AETHER")" && pwd)/$(basename "$AETHER")
command -v python3 >/dev/null || { echo "python3 missing (scripts/install-deps.sh)"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aether-admin.XXXXXX")
PIDS=()
FAILED=0
on_exit() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done  # at once, no drain
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [[ $FAILED == 0 && ${KEEP_WORK:-0} != 1 ]]; then rm -rf "$WORK"; else echo "admin listener test: files kept in $WORK"; fi
}
trap on_exit EXIT
fail() {
  echo "admin listener test: FAILED: $*"
  FAILED=1
  exit 1
}
log() { echo "[$(date +%T.%3N)] $*"; }

# wait_for_line FILE REGEX: the first matching line, within 20 s
wait_for_line() {
  local line
  for _ in $(seq 1 200); do
    if line=$(grep -m1 -E "$2" "$1"); then echo "$line"; return 0; fi
    sleep 0.1
  done
  fail "no line matching '$2' in $1: $(cat "$1")"
}
# metric ADDR SERIES: the value of one sample of GET /metrics (0 when absent)
metric() {
  python3 - "$1" "$2" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
for line in data.decode().split("\n"):
    parts = line.strip().split(" ")
    if len(parts) == 2 and parts[0] == sys.argv[2]:
        print(parts[1]); sys.exit(0)
print(0)
EOF
}
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

cd "$WORK" || exit 1
"$AETHER" cert cluster --dir certs --coordinators 2 --nodes 1 --gateways 1 --admins 1 >/dev/null || fail "aether cert"
for who in vera:viewer olga:operator ada:admin; do
  "$AETHER" operator add --file operators --name "${who%%:*}" --role "${who##*:}" --token-file "${who%%:*}.token" >/dev/null || fail "operator add $who"
done
[[ $(stat -c %a operators) == 600 && $(stat -c %a vera.token) == 600 ]] || fail "credentials are readable by others"
"$AETHER" operator add --file operators --name vera --role admin >/dev/null 2>&1 && fail "a second vera was added"

# Every process runs until the test ends and stops it (on_exit): its duration is only a backstop,
# long enough for the slowest machine (the whole test took over 40 s under a loaded ASan run).
read -r DATA_PORT C_METRICS N_METRICS G_METRICS B_METRICS <<<"$(free_ports 5)"
tls() { printf 'tls_cert_file: "certs/%s.pem"\ntls_key_file: "certs/%s.key"\ntls_ca_file: "certs/ca.pem"\n' "$1" "$1"; }
{ printf 'node_id: 1\nlisten_address: "127.0.0.1:%s"\nadmin_address: "127.0.0.1:0"\noperators_file: "operators"\nmetrics_address: "127.0.0.1:%s"\nduration_s: 300\n' "$DATA_PORT" "$C_METRICS"; tls coordinator-1; } >coordinator.textpb
{ printf 'node_id: 101\nlisten_address: "127.0.0.1:0"\ncoordinator_address: "127.0.0.1:%s"\nmetrics_address: "127.0.0.1:%s"\nduration_s: 300\n' "$DATA_PORT" "$N_METRICS"; tls compute-101; } >compute.textpb
{ printf 'node_id: 201\nlisten_address: "127.0.0.1:0"\ncoordinator_address: "127.0.0.1:%s"\nmetrics_address: "127.0.0.1:%s"\nduration_s: 300\n' "$DATA_PORT" "$G_METRICS"; tls gateway-201; } >gateway.textpb
{ printf 'node_id: 2\nlisten_address: "127.0.0.1:0"\nadmin_address: "127.0.0.1:0"\noperators_file: "operators"\nadmin_epoch_enabled: true\nmetrics_address: "127.0.0.1:%s"\nduration_s: 300\n' "$B_METRICS"; tls coordinator-2; } >lone.textpb

"$AETHER" coordinator --config coordinator.textpb >coordinator.out 2>coordinator.err & PIDS+=($!)
"$AETHER" coordinator --config lone.textpb >lone.out 2>lone.err & PIDS+=($!)
ADMIN=$(wait_for_line coordinator.out 'admin on https://' | sed -E 's|.*https://([^/]+)/api/.*|\1|')
LONE=$(wait_for_line lone.out 'admin on https://' | sed -E 's|.*https://([^/]+)/api/.*|\1|')
grep -q 'admin epoch disabled' coordinator.out || fail "the admin epoch is not off by default"
"$AETHER" compute --config compute.textpb >compute.out 2>compute.err & PIDS+=($!)
"$AETHER" gateway --config gateway.textpb >gateway.out 2>gateway.err & PIDS+=($!)
log "coordinator admin on $ADMIN, lone coordinator (admin epoch enabled) on $LONE"

admin() {  # admin TOKEN ARGS...: runs `aether admin` against the coordinator; output in $OUT, status in $RC
  local token=$1; shift
  OUT=$("$AETHER" admin --admin "$ADMIN" --tls-dir certs --token-file "$token.token" "$@" 2>&1); RC=$?
}
for _ in $(seq 1 100); do
  admin vera nodes
  grep -q '^compute 101 .* up' <<<"$OUT" && grep -q '^gateway 201 .* up' <<<"$OUT" && break
  sleep 0.2
done
[[ $RC == 0 ]] || fail "viewer nodes: rc $RC: $OUT"
grep -q '^compute 101 .* up' <<<"$OUT" || fail "compute 101 never registered: $OUT"
log "a viewer lists the nodes"

admin vera drain 101
[[ $RC == 1 ]] && grep -q 'refused: drain needs the operator role; vera is viewer' <<<"$OUT" || fail "viewer drain: rc $RC: $OUT"
admin vera nodes
grep -q '^compute 101 .* draining' <<<"$OUT" && fail "compute 101 drains on a viewer's order"
admin olga --force drain 101
[[ $RC == 1 ]] && grep -q 'reserved to the admin role' <<<"$OUT" || fail "operator forced drain: rc $RC: $OUT"
admin ada --force drain 101
[[ $RC == 1 ]] && grep -q 'admin epoch is not enabled' <<<"$OUT" || fail "admin forced drain, admin epoch off: rc $RC: $OUT"
admin olga drain 101
[[ $RC == 0 ]] && grep -q 'draining compute 101' <<<"$OUT" || fail "operator drain: rc $RC: $OUT"
admin vera nodes
grep -q '^compute 101 .* draining' <<<"$OUT" || fail "compute 101 is not draining after the operator's order: $OUT"
log "viewer refused, operator drains; forced orders refused to an operator and while the admin epoch is off"

admin olga debug --entity 42
[[ $RC == 0 ]] && grep -q 'told 2 compute nodes and gateways' <<<"$OUT" || fail "debug: rc $RC: $OUT"
sleep 0.5
[[ $(metric "127.0.0.1:$N_METRICS" 'aether_debug_entities{node="101",role="compute"}') == 1 ]] || fail "compute 101 was not told the debug set"
[[ $(metric "127.0.0.1:$G_METRICS" 'aether_debug_entities{node="201",role="gateway"}') == 1 ]] || fail "gateway 201 was not told the debug set"
grep -q 'n=101.*debug: coordinator 1 set the debug set: 1 entities \[42\]' compute.err || fail "compute 101 did not log the debug set"
admin vera entity 42
grep -q 'entity 42 is not in the table' <<<"$OUT" && grep -q 'compute 101 neither owns nor ghosts it' <<<"$OUT" || fail "entity/ghost query: $OUT"
log "debug reaches compute and gateway; ghost queries are relayed"

# Revocation without a restart: vera's line goes; within the watch interval (2 s) her token, which
# the listener had remembered, is refused; the others keep working.
"$AETHER" operator remove --file operators --name vera >/dev/null || fail "operator remove vera"
grep -q '^vera ' operators && fail "vera is still in the operators file"
"$AETHER" operator remove --file operators --name vera >/dev/null 2>&1 && fail "an unknown operator was removed"
for _ in $(seq 1 40); do admin vera nodes; [[ $RC == 2 ]] && break; sleep 0.2; done
[[ $RC == 2 ]] && grep -q 'authentication failed (401)' <<<"$OUT" || fail "a removed operator's token still works: rc $RC: $OUT"
[[ $(metric "127.0.0.1:$C_METRICS" 'aether_admin_operator_reloads_total{result="ok"}') == 1 ]] || fail "the reload was not counted"
grep -q 'admin: operators replaced (2 known)' coordinator.err || fail "the reload was not logged"
admin olga nodes
[[ $RC == 0 ]] || fail "olga lost her access with vera's removal: rc $RC: $OUT"
log "a removed operator is refused within the watch interval, without a restart"

uses=$(metric "$(grep -oE 'metrics on http://[0-9.:]+' lone.out | sed 's|metrics on http://||')" 'aether_admin_epoch_uses_total{node="2",role="coordinator"}')
[[ $uses == 0 ]] || fail "admin epoch uses $uses before any"
OUT=$("$AETHER" admin --admin "$LONE" --tls-dir certs --token-file olga.token --force debug --entity 7 2>&1); RC=$?
[[ $RC == 1 ]] && grep -q 'reserved to the admin role' <<<"$OUT" || fail "operator forced order where enabled: rc $RC: $OUT"
OUT=$("$AETHER" admin --admin "$LONE" --tls-dir certs --token-file ada.token --force debug --entity 7 2>&1); RC=$?
[[ $RC == 0 ]] && grep -q 'debugging 1 of at most 64 entities: 7' <<<"$OUT" || fail "admin forced order where enabled: rc $RC: $OUT"
[[ $(metric "127.0.0.1:$B_METRICS" 'aether_admin_epoch_uses_total{node="2",role="coordinator"}') == 1 ]] || fail "aether_admin_epoch_uses_total did not rise"
grep -E ' error .*admin debug \[on: entity 7\].* by operator ada \(admin\) under epoch 2147483647 \(admin epoch: supersedes authority\): done' lone.err >/dev/null ||
  fail "the admin epoch's use was not logged at error: $(grep 'admin debug' lone.err)"
log "a forced order by an admin where enabled is carried out, counted and logged at error"

echo "ada.not-the-secret" >wrong.token
echo "mallory.whatever" >unknown.token
admin wrong nodes
[[ $RC == 2 ]] && grep -q 'authentication failed (401)' <<<"$OUT" || fail "wrong secret: rc $RC: $OUT"
grep -q 'ada' <<<"$OUT" && fail "the client was told more than 'authentication failed': $OUT"
admin unknown nodes
[[ $RC == 2 ]] && grep -q 'authentication failed (401)' <<<"$OUT" || fail "unknown operator: rc $RC: $OUT"
[[ $(metric "127.0.0.1:$C_METRICS" 'aether_admin_auth_failures_total{reason="wrong_secret"}') == 1 ]] || fail "wrong secret not counted"
[[ $(metric "127.0.0.1:$C_METRICS" 'aether_admin_auth_failures_total{reason="unknown_operator"}') == 2 ]] || fail "unknown operator not counted (vera, removed, then mallory)"
grep -q "authentication failed from 127.0.0.1:[0-9]*: operator 'ada' (wrong_secret" coordinator.err || fail "the wrong secret was not logged"
for _ in 1 2 3; do admin wrong nodes; done  # 5 failures from this address: the budget
admin olga nodes
[[ $RC == 2 ]] && grep -q 'too many failed attempts' <<<"$OUT" || fail "past the failure budget, a good token was still looked at: rc $RC: $OUT"
[[ $(metric "127.0.0.1:$C_METRICS" 'aether_admin_auth_failures_total{reason="rate_limited"}') -ge 1 ]] || fail "rate limiting not counted"
log "wrong and unknown tokens refused and counted; the address is rate-limited past its budget"

# A plain-TCP client on the TLS port: no HTTP answer, connection closed, counted.
answer=$(python3 - "$ADMIN" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(b"GET /api/nodes HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk: break
        data += chunk
except Exception:
    pass
print(repr(data[:40]))
EOF
)
grep -q 'HTTP' <<<"$answer" && fail "a plain-TCP client got an HTTP answer: $answer"
sleep 0.2
[[ $(metric "127.0.0.1:$C_METRICS" 'aether_admin_limit_closes_total{reason="tls_handshake"}') -ge 1 ]] || fail "the plain-TCP client was not counted"
log "a plain-TCP client on the admin port is refused"

# An AdminRequest (drain 102) framed on the data port, over mutual TLS with admin-1's certificate.
python3 - "$DATA_PORT" <<'EOF' >dataport.out 2>&1 || fail "data port probe: $(cat dataport.out)"
import socket, ssl, struct, sys
ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile="certs/ca.pem")
ctx.load_cert_chain("certs/admin-1.pem", "certs/admin-1.key")
ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5))
# ServerEnvelope{sender 1, sender_role 5 (admin), epoch 1, admin (field 34) {drain (field 4) 102}}
body = bytes([0x08, 1, 0x10, 5, 0x18, 1, 0x92, 0x02, 2, 0x20, 102])
s.sendall(struct.pack(">I", len(body)) + body)
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk: break
        data += chunk
except (ssl.SSLError, ConnectionError, socket.timeout):
    pass
print("closed after", len(data), "bytes:", data[:200])
assert b"admin listener" in data, "no refusal naming the admin listener"
EOF
[[ $(metric "127.0.0.1:$C_METRICS" 'aether_admin_data_port_refusals_total{node="1",role="coordinator"}') == 1 ]] || fail "the data-port admin request was not counted"
grep -q 'admin request refused on the data port: connection [0-9]* (claims admin 1, verified admin-1)' coordinator.err || fail "the data-port refusal was not logged"
log "an admin request on the data port from a non-server identity is refused, counted and logged"

for who in 'vera (viewer) under epoch 0: done' 'olga (operator) under epoch 1: done' 'olga (operator) under epoch 2147483647' 'ada (admin) under epoch 2147483647'; do
  grep -q "by operator $who" coordinator.err || fail "no log line 'by operator $who'"
done
kill -0 "${PIDS[0]}" 2>/dev/null || fail "the coordinator died"
log "every command logged with who, role, epoch and outcome; the coordinator is up"
echo "admin listener test: passed"
