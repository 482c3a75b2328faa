#!/usr/bin/env bash
# deploy/k8s checked against the Kubernetes API schemas (Debian's python3-kubernetes, offline:
# tests/k8s_validate.py), then the checker itself: each mutant below must be refused, or the check
# could not fail.
#   usage: k8s_validate.sh [deploy/k8s]
set -euo pipefail
dir=${1:-"$(dirname "$0")/../deploy/k8s"}
py=/usr/bin/python3  # Debian's, where python3-kubernetes and python3-yaml are installed
"$py" -c 'import kubernetes, yaml' 2>/dev/null || { echo "python3-kubernetes or python3-yaml missing: bash scripts/install-deps.sh"; exit 1; }
"$py" "$(dirname "$0")/k8s_validate.py" "$dir"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mutant() {  # mutant FILE SED-EXPRESSION WHAT: the mutated manifests must fail to validate
  rm -rf "$work/m" && cp -r "$dir" "$work/m"
  sed -i -E "$2" "$work/m/$1"
  cmp -s "$dir/$1" "$work/m/$1" && { echo "FAIL: mutant '$3' changed nothing"; exit 1; }
  if "$py" "$(dirname "$0")/k8s_validate.py" "$work/m" >"$work/out" 2>&1; then
    echo "FAIL: mutant '$3' was accepted"; exit 1
  fi
  # Refused by a check that names the problem, not by the checker crashing.
  grep -q '^k8s: ' "$work/out" && ! grep -q Traceback "$work/out" || { echo "FAIL: mutant '$3' was not refused cleanly:"; cat "$work/out"; exit 1; }
}
mutant compute.yaml 's/terminationGracePeriodSeconds: 45/terminationGracePeriodSecond: 45/' "an unknown field"
mutant compute.yaml 's/replicas: 3/replicas: "3"/' "a string for an integer"
mutant gateway.yaml 's/- name: gateway$/- image: gateway/' "a container without its required name"
mutant coordinator.yaml 's/requiredDuringScheduling/preferredDuringScheduling/' "coordinators allowed on one machine"
mutant compute.yaml 's|path: /readyz|path: /healthz|' "readiness on /healthz"
mutant gateway.yaml 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "a writable root filesystem"
mutant compute.yaml 's/kind: PodDisruptionBudget/kind: PodDisruptionBudgets/' "an unknown kind"
mutant postgres.yaml 's/apiVersion: v1/apiVersion: v1\nbogus: 1/' "an unknown top-level field"
echo "k8s validate: passed (8 mutants refused)"
