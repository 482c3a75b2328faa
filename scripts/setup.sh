#!/usr/bin/env bash
# README command 1: install what is missing, build the release binary, run the v1 battle over real
# loopback sockets and print its figures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target aether
exec build/bin/aether local --bots "${AETHER_BOTS:-200}" --duration "${AETHER_DURATION:-20}" --log-level warn
