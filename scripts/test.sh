#!/usr/bin/env bash
# README command 2 (and CI): build and run every test.
#  1. the GCC Debug build with AddressSanitizer and UBSan: unit, property, engine scan, determinism;
#  2. the GCC and Clang release builds: the same seed must give the same digest from both compilers;
#  3. a TLS scan (testssl.sh) of every port of `aether local --tls`;
#  4. the libFuzzer harnesses (Clang, ASan+UBSan), each AETHER_FUZZ_SECONDS (20) on its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
# Each stage's heading says when it began (minutes:seconds since the start): CI's budget is 45 minutes.
stage() { printf '== [%02d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

stage "build: asan (GCC, Debug, ASan+UBSan)"
cmake --preset asan > /dev/null
cmake --build --preset asan
stage "test: asan"
ctest_log=$(mktemp); trap 'rm -f "$ctest_log"' EXIT
ctest --test-dir build-asan --output-on-failure -j "$jobs" | tee "$ctest_log"
ctest_total=$(sed -nE 's/.*tests passed, 0 tests failed out of ([0-9]+).*/\1/p' "$ctest_log")

# Clang builds aether-sim (the simulator without the socket, TLS and web code that are a third of
# aether's compile time): the digest check runs only `sim`. GCC compiles the socket code twice above
# and below with -Werror; Clang's own warnings on it are the full clang build's (docs/running.md).
stage "build: release (GCC) and clang (Clang) for the cross-compiler digest check"
cmake --preset release > /dev/null
cmake --build --preset release --target aether
cmake --preset clang > /dev/null
cmake --build --preset clang --target aether-sim
bash scripts/cross-compiler-digest.sh build/bin/aether build-clang/bin/aether-sim

# Every attack's memory bounds hold for the binary studios run (under ASan the quarantine fills the
# RSS, so ctest's run checks everything else there): the hostile suite again, 5 s an attack (10 s for
# slowloris, to fill its budget, and tokens, to lock an account by wrong passwords), about 2.5 minutes.
stage "hostile: every attack against the Release binary, memory bounds checked"
for attack in frames plain-tcp forged-hello admin-unauth slowloris sessions floods websocket tokens forged-intent; do
  seconds=5
  [[ $attack == slowloris || $attack == tokens ]] && seconds=10
  python3 tests/security/hostile_test.py build/bin/aether "$attack" --seconds "$seconds"
done

stage "TLS scan: testssl.sh against aether local --tls (no protocol below TLS 1.2, no weak suite)"
bash tests/security/tls_scan.sh build/bin/aether

# The browser client (docs/browser.md): built from npm with the committed lockfile, its codec held
# to the C++ vectors, then headless Debian Chromium plays against aether local --tls --web (~30 s).
stage "browser: web client build, codec vectors, headless Chromium play test"
bash scripts/web.sh build
bash scripts/web.sh test
bash scripts/web.sh browser-test
bash scripts/web.sh console-test

# The package a studio installs: cpack's Debian package, unpacked into an empty directory, must run
# from there (its binary, configs and scenarios) and say which commit it was built from.
stage "package: Debian package, installed in a clean directory"
cmake --build --preset release --target aether
(cd build && cpack --config CPackConfig.cmake > /dev/null)
pkg_root=$(mktemp -d); trap 'rm -f "$ctest_log"; rm -rf "$pkg_root"' EXIT
dpkg-deb -x build/aether_*_amd64.deb "$pkg_root"
"$pkg_root/usr/bin/aether" --version | grep -E '^aether [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]+'
"$pkg_root/usr/bin/aether" sim "$pkg_root/usr/share/aether/scenarios/v1-battle.textpb" --seed 1 | grep '^trace-digest '
sweeps=1  # the package check; each sweep below adds one

# What a studio deploys (docs/deploy.md): the OCI image from that package and Debian's libraries
# (mmdebstrap, umoci, skopeo; about 2 minutes, most of it fetching Debian packages), the Kubernetes
# manifests against the API schemas, the alert rules, their unit tests and the dashboard's queries.
stage "deploy: OCI image, Kubernetes manifests, alerts and dashboard"
bash scripts/image.sh build
bash tests/k8s_validate.sh deploy/k8s
bash tests/ops_check.sh
# The same binary as separate hosts: network namespaces, bots through a node kill, a leader kill and a
# rolling upgrade, checked from the traces (about a minute; root, as CI runs).
bash tests/netns_cluster.sh build/bin/aether

# The cluster scenarios, a few seeds each (the full 50-seed sweeps are in docs/performance.md):
# every run is checked for two writers, late recovery, epoch violations and bots left out.
stage "scenarios: seed sweeps with the global checker"
for spec in node-crash:1..4 coordinator-failover:1..4 gateway-crash:1..4 migration-storm:1..4 v2-battle:1..2 \
            pause-and-resume:1..4 clock-drift:1..4 crash-during-migration:1..4 failover-during-migration:1..4 flapping-node:1..4 \
            partition-leader-vice:1..4 asymmetric-partition:1..4 clock-beyond-bound:1..4 clock-beyond-bound-vice:1..4 v3-ci:1..1 rolling-upgrade:1..2 overload:1..1 classes-battle:1..3 accounts-battle:1..3 npc-battle:1..2 loot-battle:1..2 encounter-crash:1..2 zones-battle:1..3 dungeon-party:1..2 relogin-battle:1..2; do
  scenario=${spec%%:*} seeds=${spec##*:}
  build/bin/aether sim "scenarios/$scenario" --seeds "$seeds" --jobs "$jobs"
  sweeps=$((sweeps + 1))
done

# The chaos suite: about 2,100 fault-injected runs over eleven scenarios, every kept regression
# schedule, then the determinism guard (tests/chaos/README.md).
stage "chaos suite"
bash tests/chaos/run.sh build/bin/aether
# The decoders of untrusted bytes under libFuzzer (docs/security.md, "Fuzzing"): a crash, a sanitizer
# report or a failed round trip fails CI, and the input is kept in build-fuzz/fuzz-artifacts/.
stage "build: fuzz (Clang, libFuzzer, ASan+UBSan)"
cmake --preset fuzz > /dev/null
cmake --build --preset fuzz
stage "fuzz"
bash tests/fuzz/run.sh build-fuzz "${AETHER_FUZZ_SECONDS:-20}"
# ctest, the cross-compiler digest, the ten attacks on Release, the TLS scan, the browser's codec, play and console tests, the
# sweeps (with the package check), the four deploy checks, the chaos suite, the fuzzers.
stage "done"
echo "all tests: $((ctest_total + 1 + 10 + 1 + 3 + sweeps + 4 + 1 + 1)) passed, 0 failed"
