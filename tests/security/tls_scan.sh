#!/usr/bin/env bash
# A TLS scan with Debian's testssl.sh against every port of `aether local --tls` (the coordinator's
# and the compute node's, mutual TLS; the gateway's client port, TLS), asserting what docs/security.md
# promises: no protocol below TLS 1.2; TLS 1.2 and 1.3 offered; no NULL, anonymous, export, low,
# 3DES/IDEA or CBC ("average") suite; every suite offered ECDHE with an AEAD cipher; and that the
# scan's refused handshakes were counted by the servers, which stay up through it.
#   usage: tls_scan.sh path/to/aether
set -euo pipefail
aether=$1
testssl=$(command -v testssl || command -v testssl.sh || true)
[ -n "$testssl" ] || { echo "testssl.sh missing: bash scripts/install-deps.sh installs the Debian package testssl.sh"; exit 1; }
work=$(mktemp -d)
local_pid=
cleanup() {
  [ -n "$local_pid" ] && kill "$local_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

wait_for_line() {  # FILE REGEX: the first matching line, within 20 s
  for _ in $(seq 1 200); do
    if line=$(grep -m1 -E "$2" "$1"); then echo "$line"; return 0; fi
    sleep 0.1
  done
  fail "no line matching '$2' in $1: $(cat "$1")"
}

"$aether" local --tls --tls-dir "$work/certs" --bots 4 --duration 300 --log-level warn --metrics 127.0.0.1:0 \
  >"$work/local.out" 2>"$work/local.err" &
local_pid=$!
servers=$(wait_for_line "$work/local.out" '^aether local: servers ')
metrics=$(wait_for_line "$work/local.out" 'metrics on http://' | sed -E 's|.*http://([^/]+)/metrics.*|\1|')
echo "$servers"

scan() {  # NAME ADDRESS
  local name=$1 address=$2
  echo "== testssl.sh $name ($address)"
  # Protocols, cipher categories, forward secrecy and every cipher per protocol; no vulnerability
  # probes (they target HTTP and old protocols we do not speak).
  timeout 240 "$testssl" --quiet --color 0 --warnings off --connect-timeout 10 --openssl-timeout 10 \
    -p -s -f -E --jsonfile "$work/$name.json" "$address" >"$work/$name.txt" 2>&1 || true
  python3 - "$work/$name.json" "$name" <<'PY'
import json, re, sys
path, name = sys.argv[1], sys.argv[2]
try:
    findings = {f["id"]: f for f in json.load(open(path))}
except Exception as e:
    sys.exit(f"FAIL: {name}: no testssl.sh result ({e})")
problems = []
def finding(i):
    f = findings.get(i)
    return f["finding"] if f else "missing"
for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    if not finding(proto).startswith("not offered"): problems.append(f"{proto}: {finding(proto)}")
for proto in ("TLS1_2", "TLS1_3"):
    if not finding(proto).startswith("offered"): problems.append(f"{proto}: {finding(proto)}")
for weak in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"):
    if not finding(weak).startswith("not offered"): problems.append(f"{weak}: {finding(weak)}")
if not finding("cipherlist_STRONG").startswith("offered"): problems.append(f"cipherlist_STRONG: {finding('cipherlist_STRONG')}")
suites = [f["finding"] for i, f in findings.items() if i.startswith("cipher-tls")]
if not suites: problems.append("no cipher suite listed")
for s in suites:
    # "TLS 1.2   xc02b   ECDHE-ECDSA-AES128-GCM-SHA256   ECDH 253   AESGCM   128   TLS_ECDHE_..."
    fields = s.split()
    tls13 = fields[1] == "1.3"
    ecdhe = tls13 or fields[3].startswith("ECDHE-")
    aead = re.search(r"GCM|CHACHA20|POLY1305", s) is not None
    if not (ecdhe and aead): problems.append(f"weak suite: {s}")
bad = [f"{i}: {f['severity']} {f['finding']}" for i, f in findings.items()
       if f.get("severity") in ("MEDIUM", "HIGH", "CRITICAL") and (i.startswith("cipher") or i.startswith("TLS") or i.startswith("SSL") or i.startswith("FS"))]
problems += bad
if problems:
    print(f"FAIL: {name}:"); [print("  " + p) for p in problems]; sys.exit(1)
print(f"{name}: TLS 1.2 and 1.3 only, {len(suites)} suites, all ECDHE + AEAD")
PY
}

for entry in ${servers#aether local: servers }; do
  scan "${entry%%=*}" "${entry#*=}"
done

kill -0 "$local_pid" 2>/dev/null || fail "aether local died during the scan: $(tail -5 "$work/local.err")"
host=${metrics%:*} port=${metrics##*:}
exec 3<>"/dev/tcp/$host/$port"
printf 'GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$metrics" >&3
timeout 10 cat <&3 >"$work/metrics.txt"
exec 3<&- 3>&-
for role in coordinator compute gateway; do
  count=$(grep -E "^aether_network_limit_closes_total\{.*role=\"$role\".*reason=\"tls_handshake\"\}" "$work/metrics.txt" | awk '{s+=$2} END {print s+0}')
  [ "${count%.*}" -gt 0 ] || fail "$role counted no refused TLS handshake during its scan"
  echo "$role: ${count%.*} refused handshakes counted (aether_network_limit_closes_total{reason=\"tls_handshake\"})"
done
echo "tls scan: every port clean"
