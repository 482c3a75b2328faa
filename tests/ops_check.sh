#!/usr/bin/env bash
# Operations files: the Prometheus alert rules (promtool check + `promtool test rules`, their unit
# tests), and the Grafana dashboard: valid JSON, every query valid PromQL (each is checked by promtool
# as a recording rule), and every series it or the alerts name exported by the code (a renamed metric
# fails here, not on a studio's screen).
#   usage: ops_check.sh   (from anywhere; needs promtool: the Debian package prometheus)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v promtool >/dev/null || { echo "promtool missing: bash scripts/install-deps.sh"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

promtool check rules deploy/prometheus/aether-alerts.yml
(cd deploy/prometheus && promtool test rules aether-alerts.test.yml)

# The names the code exports: every family("aether_...") of app/ and runtime/; histograms add suffixes.
grep -rhoE 'family\("aether_[a-z0-9_]+"' app runtime | sed -E 's/family\("//; s/"$//' | sort -u >"$work/families"
sed -E 'p; s/$/_bucket/p; s/_bucket$/_count/p; s/_count$/_sum/' "$work/families" >"$work/exported"
[ "$(wc -l <"$work/exported")" -gt 100 ] || { echo "FAIL: found only $(wc -l <"$work/exported") exported names"; exit 1; }

/usr/bin/python3 - "$work" <<'PY'
import json, re, sys
work = sys.argv[1]
dash = json.load(open("deploy/grafana/aether-cluster.json"))
exprs = []
def walk(n):
    if isinstance(n, dict):
        if isinstance(n.get("expr"), str):
            exprs.append(n["expr"])
        for v in n.values():
            walk(v)
    elif isinstance(n, list):
        for v in n:
            walk(v)
walk(dash)
assert len(exprs) > 40, f"only {len(exprs)} queries in the dashboard"
ids = [p["id"] for p in dash["panels"]]
assert len(ids) == len(set(ids)), "panel ids repeat"
with open(f"{work}/dashboard-rules.yml", "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$job", ".*")  # the dashboard's variable, as "All" sets it
        f.write(f"      - record: dashboard:query{i}\n        expr: {json.dumps(e)}\n")
names = set()
for e in exprs:
    names.update(re.findall(r"\baether_[a-z0-9_]+", e))
for r in re.findall(r"expr: (.*)", open("deploy/prometheus/aether-alerts.yml").read()):
    names.update(re.findall(r"\baether_[a-z0-9_]+", r))
exported = set(open(f"{work}/exported").read().split())
missing = sorted(names - exported)
if missing:
    print("FAIL: the dashboard or the alerts name series the code does not export:", " ".join(missing))
    sys.exit(1)
print(f"dashboard: {len(dash['panels'])} panels, {len(exprs)} queries; {len(names)} series named, all exported")
PY
promtool check rules "$work/dashboard-rules.yml" | grep SUCCESS
echo "ops check: passed"
