#!/usr/bin/env bash
# The browser client (web/, docs/browser.md), from npm with the committed lockfile.
#   scripts/web.sh build          npm ci (offline-safe: the cache first) and ng build -> web/dist/aether/browser
#   scripts/web.sh test           the TypeScript codec against the C++ codec's vectors (web/test/vectors.json)
#   scripts/web.sh browser-test   headless Debian Chromium plays against `aether local` (tests/browser/play_test.mjs: log in, play,
#                                 reconnect, log out), two browsers fight (tests/browser/duel_test.mjs), and a player's bag
#                                 fills with loot and survives log-outs, reconnects and a reload (tests/browser/bag_test.mjs)
#   scripts/web.sh console-test   headless Chromium drives the operators' console on the admin listener (tests/browser/console_test.mjs),
#                                 then follows it through the leader's death in a cluster of role processes, with the entity
#                                 inspector (tests/browser/console_failover_test.mjs)
# The tests share tests/browser/harness.mjs (the browser, the cluster's processes, the end of a run).
# Needs Node.js 20+ and npm; the browser test needs /usr/bin/chromium (scripts/install-deps.sh) and build/bin/aether.
set -euo pipefail
cd "$(dirname "$0")/.."
export NG_CLI_ANALYTICS=false CI=true NG_FORCE_TTY=false
web=web

deps() {
  # npm ci only when the lockfile changed since the last install.
  if [ ! -f $web/node_modules/.package-lock.json ] || ! cmp -s $web/package-lock.json $web/node_modules/.aether-lock; then
    (cd $web && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
    cp $web/package-lock.json $web/node_modules/.aether-lock
  fi
}

case "${1:-build}" in
  build)
    deps
    (cd $web && ./node_modules/.bin/ng build)
    echo "web: built into $web/dist/aether/browser"
    ;;
  test)
    deps
    (cd $web && ./node_modules/.bin/tsc -p test/tsconfig.json && node dist/test/test/codec.test.js test/vectors.json)
    ;;
  browser-test)
    deps
    [ -f $web/dist/aether/browser/index.html ] || "$0" build
    node tests/browser/play_test.mjs build/bin/aether $web/dist/aether/browser docs/pictures/browser-battle.png docs/pictures/browser-login.png
    node tests/browser/duel_test.mjs build/bin/aether $web/dist/aether/browser docs/pictures/browser-duel.png
    node tests/browser/bag_test.mjs build/bin/aether $web/dist/aether/browser docs/pictures/browser-bag.png
    ;;
  console-test)
    deps
    node tests/browser/console_test.mjs build/bin/aether docs/pictures/admin-console.png docs/pictures/admin-console-map.png docs/pictures/admin-console-inspector.png
    node tests/browser/console_failover_test.mjs build/bin/aether docs/pictures/admin-console-failover.png docs/pictures/admin-console-entity.png
    ;;
  *)
    echo "usage: scripts/web.sh build|test|browser-test|console-test" >&2
    exit 2
    ;;
esac
