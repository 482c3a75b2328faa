#!/usr/bin/env bash
# The engine scan must fail on each kind of violation it exists for, and pass on clean code.
set -u
scan="$(dirname "$0")/engine_scan.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo 'int f() { return 1; }' > "$tmp/clean.cc"
bash "$scan" "$tmp" > /dev/null || { echo "FAIL: clean code rejected"; exit 1; }
failures=0
for bad in '#include <thread>' '#include <random>' '#include <boost/asio.hpp>' '#include <mutex>' \
           'auto t = std::chrono::steady_clock::now();' 'auto t = std::chrono::system_clock::now();' \
           'int r = rand();' 'const char* h = getenv("HOME");' 'std::ifstream in("x");' 'std::random_device rd;' '#include <netinet/in.h>' '#include <sys/socket.h>' '#include <unistd.h>' '#include <openssl/ssl.h>'; do
  rm -f "$tmp"/*.cc
  echo "$bad" > "$tmp/bad.cc"
  if bash "$scan" "$tmp" > /dev/null; then
    echo "FAIL: the scan let through: $bad"
    failures=$((failures + 1))
  fi
done
[ "$failures" -eq 0 ] && echo "engine scan self-test: every planted violation was caught"
exit "$failures"
