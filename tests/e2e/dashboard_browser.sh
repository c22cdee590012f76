#!/usr/bin/env bash
# The dashboard in a real browser: tests/browser/dashboard.test.mjs, with
# playwright-core (pinned in tests/browser/package-lock.json) driving Debian's
# Chromium, against a running Chaperone server. Screenshots land in
# $CHAPERONE_BUILD_DIR/test-artifacts/dashboard-*.png.
#
# Target:
#   CHAPERONE_DASHBOARD_URL set   test that server as it is;
#   otherwise                     start `chaperone up` (the all-in-one demo) in a
#                                 scratch directory, on http://127.0.0.1:8080/.
# Loss: CHAPERONE_LOSS_HOOK (a shell command, see dashboard.test.mjs), or, when
# CHAPERONE_BOOTSTRAP names the audit cluster, tests/browser/make_loss.sh, which
# publishes one extra producer-tier audit record with kcat.
# Alerts: CHAPERONE_ALERT_HOOK, or, when CHAPERONE_STORE_URL names the store the
# server reads (set here for the `chaperone up` it starts),
# tests/browser/make_alert.sh, which writes one firing alert as the loss
# detector does (build/bin/chaperone-test-alert).
set -euo pipefail

src=${CHAPERONE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${CHAPERONE_BUILD_DIR:-$src/build}
bin=${CHAPERONE_BIN:-$build/bin/chaperone}
export CHAPERONE_BUILD_DIR=$build
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHAPERONE_ARTIFACTS=${CHAPERONE_ARTIFACTS:-$build/test-artifacts}

fail() { echo "dashboard_browser: $*" >&2; exit 1; }
source "$src/tests/e2e/lib/server_url.bash"
[[ -x $CHROMIUM ]] || fail "Chromium not found at $CHROMIUM: run scripts/install-deps.sh --test (Debian package chromium)"
command -v node >/dev/null || fail "node not found: run scripts/install-deps.sh"
command -v npm >/dev/null || fail "npm not found: run scripts/install-deps.sh"

(cd "$src/tests/browser" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) ||
  fail "npm ci failed in tests/browser (it needs the npm registry or npm's cache)"

scratch=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

if [[ -z ${CHAPERONE_DASHBOARD_URL:-} ]]; then
  # The all-in-one demo on a free port; its banner names the web URL and the
  # mock cluster's bootstrap address (for the loss hook).
  (cd "$scratch" && exec "$bin" up --listen 127.0.0.1:0 ${CHAPERONE_UP_ARGS:-}) >"$scratch/up.log" 2>&1 &
  server_pid=$!
  wait_server_url "$scratch/up.log" '^chaperone up: web: \(http://[0-9.:]*\).*' "$server_pid" "chaperone up" 120
  export CHAPERONE_DASHBOARD_URL="$url/"
  export CHAPERONE_STORE_URL=${CHAPERONE_STORE_URL:-sqlite:$scratch/chaperone-data/chaperone.db}
  export CHAPERONE_BOOTSTRAP=${CHAPERONE_BOOTSTRAP:-$(sed -n 's|^chaperone up: mock Kafka cluster ([0-9]* brokers): \([^ ]*\).*|\1|p' "$scratch/up.log" | head -1)}
fi

if [[ -z ${CHAPERONE_LOSS_HOOK:-} && -n ${CHAPERONE_BOOTSTRAP:-} ]]; then
  export CHAPERONE_LOSS_HOOK="$src/tests/browser/make_loss.sh"
fi
if [[ -z ${CHAPERONE_ALERT_HOOK:-} && -n ${CHAPERONE_STORE_URL:-} ]]; then
  export CHAPERONE_ALERT_HOOK="$src/tests/browser/make_alert.sh"
fi

cd "$src/tests/browser"
node --test-reporter=tap dashboard.test.mjs
