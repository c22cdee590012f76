#!/usr/bin/env bash
# The dashboard's missing messages in a real browser: two `chaperone mock-kafka`
# clusters (regional and aggregate), chaperone-test-read-fixture producing a
# topic into both with known drops and duplicates and writing both tiers'
# audit into a SQLite store, `chaperone web --config` with those `clusters:`,
# then tests/browser/diff.test.mjs (playwright-core driving Debian's
# Chromium): from the window with loss, two clicks to the list of its missing
# messages, which must be exactly the ids the fixture dropped there.
# Screenshots land in $CHAPERONE_BUILD_DIR/test-artifacts/diff-*.png.
set -euo pipefail

src=${CHAPERONE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${CHAPERONE_BUILD_DIR:-$src/build}
bin=${CHAPERONE_BIN:-$build/bin/chaperone}
fixture=$build/bin/chaperone-test-read-fixture
export CHAPERONE_BUILD_DIR=$build
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHAPERONE_ARTIFACTS=${CHAPERONE_ARTIFACTS:-$build/test-artifacts}
topic=checkout

fail() { echo "diff_browser: $*" >&2; exit 1; }
source "$src/tests/e2e/lib/server_url.bash"
[[ -x $CHROMIUM ]] || fail "Chromium not found at $CHROMIUM: run scripts/install-deps.sh --test (Debian package chromium)"
command -v node >/dev/null || fail "node not found: run scripts/install-deps.sh"
command -v npm >/dev/null || fail "npm not found: run scripts/install-deps.sh"
[[ -x $fixture ]] || fail "$fixture not built: cmake --build build --target chaperone-test-read-fixture"

(cd "$src/tests/browser" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) ||
  fail "npm ci failed in tests/browser (it needs the npm registry or npm's cache)"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/chaperone-diff-browser.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

# Waits up to $2 tenths of a second for the file $1 to be non-empty.
wait_file() {
  for _ in $(seq 1 "$2"); do [[ -s $1 ]] && return 0; sleep 0.1; done
  return 1
}

for name in regional aggregate; do
  "$bin" mock-kafka --topic "$topic:4" --bootstrap-file "$scratch/$name.bootstrap" >"$scratch/$name.log" 2>&1 &
  pids+=($!)
done
for name in regional aggregate; do
  wait_file "$scratch/$name.bootstrap" 300 || fail "mock-kafka ($name) did not start: $(cat "$scratch/$name.log")"
done
regional=$(cat "$scratch/regional.bootstrap")
aggregate=$(cat "$scratch/aggregate.bootstrap")

"$fixture" --store "sqlite:$scratch/audit.db" --topic "$topic" --regional "$regional" --aggregate "$aggregate" \
  --messages 2000 --drop 5 --duplicate 3 --events >"$scratch/fixture.json" || fail "chaperone-test-read-fixture failed"

cat >"$scratch/chaperone.yaml" <<EOF
store:
  url: sqlite:$scratch/audit.db
clusters:
  regional: {bootstrap.servers: "$regional"}
  aggregate: {bootstrap.servers: "$aggregate"}
web:
  listen: 127.0.0.1:0
EOF
"$bin" web --config "$scratch/chaperone.yaml" >"$scratch/web.log" 2>&1 &
pids+=($!)
wait_server_url "$scratch/web.log" '^chaperone web: serving \(http://[0-9.:]*\).*' "${pids[-1]}" "chaperone web" 60

export CHAPERONE_DASHBOARD_URL="$url/"
export CHAPERONE_FIXTURE="$scratch/fixture.json"
export CHAPERONE_TOPIC=$topic
cd "$src/tests/browser"
node --test-reporter=tap diff.test.mjs
