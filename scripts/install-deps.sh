#!/usr/bin/env bash
# Installs what Aether needs on Debian 12, from Debian packages only. Does nothing if all are there.
set -euo pipefail
packages=(
  build-essential dpkg-dev git cmake ninja-build ccache g++ clang libclang-rt-14-dev lld
  libboost1.81-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libssl-dev libsodium-dev pkg-config
  libsqlite3-dev libpq-dev libpqxx-dev postgresql
  graphviz python3
  prometheus testssl.sh
  python3-kubernetes python3-yaml mmdebstrap umoci skopeo
  chromium nodejs
)
# npm: Debian's package, unless the installed Node.js brings its own (NodeSource's nodejs, which this
# machine kind has, bundles npm and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
