#!/usr/bin/env bash
# `chaperone web` as a user runs it: bad flags and config, and a store that
# does not exist, fail fast with one line and exit code 2 (and the reader
# creates nothing); started from a config file on port 0 it answers JSON
# (health, topics, 400/404/405) and Prometheus text, and stops on SIGTERM.
set -euo pipefail
BIN=${CHAPERONE_BIN:?CHAPERONE_BIN must point at the chaperone binary}
dir=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Fails with exit code 2 and an error line containing $1.
expect_usage_error() {
  local want=$1; shift
  local rc=0
  "$BIN" web "$@" >"$dir/out" 2>"$dir/err" || rc=$?
  [[ $rc -eq 2 ]] || fail "web $* exited $rc, want 2 ($(cat "$dir/err"))"
  grep -q -- "$want" "$dir/err" || fail "web $*: error '$(cat "$dir/err")' lacks '$want'"
}

expect_usage_error "--listen: 'nowhere': want HOST:PORT" --store "sqlite:$dir/a.db" --listen nowhere
expect_usage_error "tier" --store "sqlite:$dir/a.db" --tier-order "a,,b"
expect_usage_error "store" --listen 127.0.0.1:0
printf 'web:\n  listne: 127.0.0.1:0\n' >"$dir/bad.yaml"
expect_usage_error "bad.yaml:2: web.listne: unknown setting (did you mean web.listen?)" --config "$dir/bad.yaml"
expect_usage_error "cannot read" --config "$dir/missing.yaml"
# A store password is never printed back, not even when the store is unreachable.
rc=0
"$BIN" web --listen 127.0.0.1:0 --store "postgresql://chaperone:hunter2@127.0.0.1:1/chaperone" >"$dir/out" 2>"$dir/err" || rc=$?
[[ $rc -ne 0 ]] || fail "web with an unreachable store exited 0"
grep -q 'postgresql://chaperone:\*\*\*@127.0.0.1:1/chaperone' "$dir/err" || fail "the store error does not name the redacted URL: $(cat "$dir/err")"
! grep -q hunter2 "$dir/err" "$dir/out" || fail "the store password was printed: $(cat "$dir/err")"
expect_usage_error "$dir/mistyped/path.db does not exist" --listen 127.0.0.1:0 --store "sqlite:$dir/mistyped/path.db"
[[ ! -e "$dir/mistyped" ]] || fail "chaperone web created $dir/mistyped for a store it only reads"
[[ $(wc -l <"$dir/err") -eq 1 ]] || fail "a missing store is not a one-line error: $(cat "$dir/err")"

# An empty file is no store either: refused, naming it, and no table created.
: >"$dir/audit.db"
expect_usage_error "sqlite:$dir/audit.db holds no Chaperone store" --listen 127.0.0.1:0 --store "sqlite:$dir/audit.db"
python3 -c 'import sqlite3, sys; n = sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM sqlite_master").fetchone()[0]; sys.exit(n != 0)' \
  "$dir/audit.db" || fail "chaperone web created tables in an empty file it only reads"

# The store exists once a writer made it (here the operators' command).
"$BIN" store migrate --store "sqlite:$dir/audit.db" >"$dir/out" 2>"$dir/err" || fail "store migrate: $(cat "$dir/err")"

cat >"$dir/chaperone.yaml" <<EOF
collector:
  group_id: ignored-by-web
store:
  url: sqlite:$dir/audit.db
web:
  listen: 127.0.0.1:0
  tier_order: [producer, regional, aggregate]
  grace_sec: 60
EOF
"$BIN" web --config "$dir/chaperone.yaml" --delay-threshold-ms 5000 >"$dir/out" 2>"$dir/log" &
pid=$!
url=""
for _ in $(seq 1 200); do
  url=$(sed -n 's/^chaperone web: serving \(http:[^ ]*\)$/\1/p' "$dir/out")
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2>/dev/null || fail "chaperone web exited early: $(cat "$dir/log")"
  sleep 0.05
done
[[ -n "$url" ]] || fail "no 'serving' line within 10 s: $(cat "$dir/log")"

# GET $1 and expect status $2 and a body containing $3.
expect() {
  local path=$1 status=$2 needle=$3; shift 3
  local code
  code=$(curl -s -o "$dir/body" -w '%{http_code}' "$@" "$url$path")
  [[ "$code" == "$status" ]] || fail "$path: HTTP $code, want $status: $(head -c 300 "$dir/body")"
  grep -q -- "$needle" "$dir/body" || fail "$path: body lacks '$needle': $(head -c 300 "$dir/body")"
}

expect /health 200 '"store":"sqlite"'
expect /api/v1/topics 200 '"total":0'
expect /api/v1/topics/orders/series 404 '"code":"not_found"'
expect "/api/v1/topics/orders%27%3B--/series" 400 '"code":"bad_request"'
expect "/api/v1/topics?limit=0" 400 'limit'
expect "/api/v1/topics?sort=size" 400 'sort'
expect "/api/v1/topics/orders/series?from=2026-02-30" 400 'from'
expect /api/v1/emitters 200 '"emitters":\[\]'
expect /api/v1/quarantine 200 '"total":0'
expect /api/v1/alerts 200 '"alerts":\[\],"nextBefore":null'
expect "/api/v1/alerts?state=open" 400 'state'
expect /api/v1/nothing 404 '"code":"not_found"'
expect /api/v1/topics 405 '"code":"method_not_allowed"' -X POST -d ''
expect /health 405 '"code":"method_not_allowed"' -X PUT -d ''
expect "/assets/../../etc/passwd" 404 'not_found' --path-as-is
# The dashboard is served when it was built in; otherwise / says it was not.
code=$(curl -s -o "$dir/body" -w '%{http_code}' "$url/")
if [[ "$code" == 404 ]]; then
  grep -q "not built" "$dir/body" || fail "/: 404 without saying the dashboard was not built"
elif [[ "$code" == 200 ]]; then
  grep -qi "<html" "$dir/body" || fail "/: 200 but not HTML"
else
  fail "/: HTTP $code"
fi
expect /metrics 200 'chaperone_web_requests_total{route="/api/v1/topics",status="400"} 2'
# The binary says which allocator it runs on; with jemalloc, /metrics shows
# what the heap holds, and the settings it was built with are in effect.
"$BIN" --version >"$dir/version"
grep -q '^chaperone [0-9]' "$dir/version" || fail "--version: $(cat "$dir/version")"
allocator=$(sed -n 's/^allocator: //p' "$dir/version")
[[ -n "$allocator" ]] || fail "--version names no allocator: $(cat "$dir/version")"
if [[ "$allocator" == jemalloc* ]]; then
  expect /metrics 200 '^chaperone_heap_resident_bytes [1-9][0-9]*$'
  MALLOC_CONF=stats_print:true "$BIN" --version >"$dir/stats" 2>&1
  grep -q 'opt.background_thread: true' "$dir/stats" || fail "jemalloc settings not in effect: $(grep opt. "$dir/stats" | head)"
  grep -q 'opt.dirty_decay_ms: 100 ' "$dir/stats" || fail "jemalloc decay setting not in effect"
fi

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[[ $rc -eq 0 ]] || fail "chaperone web exited $rc on SIGTERM"
grep -q "stopping" "$dir/log" || fail "no 'stopping' line on SIGTERM"
echo "web_cli: ok"
