#!/usr/bin/env bash
# chaperone up (the embedded demo), end to end through the real binary:
#  - the API answers within a minute;
#  - every final window shows equal counts and digests for the tiers producer,
#    regional and consumer:demo, for every demo topic;
#  - Ctrl-C (SIGINT) stops everything cleanly, and the store then holds equal
#    counts and digests for the three tiers in every window: nothing lost.
set -euo pipefail
bin=${CHAPERONE_BIN:?}
scratch=$(mktemp -d)
pid=""
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true
  [[ -n ${web_pid:-} ]] && kill -9 "$web_pid" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "up_demo: FAIL: $*" >&2; echo "--- up.log" >&2; tail -40 "$scratch/up.log" >&2 || true; exit 1; }

# Reads a "web: http://..." banner line from a log.
web_url() { sed -n 's|^chaperone up: web: \(http://[0-9.:]*\).*|\1|p; s|.*web: serving on \(http://[0-9.:]*\).*|\1|p' "$1" | head -1; }

(cd "$scratch" && exec "$bin" up --listen 127.0.0.1:0 --rate 200) >"$scratch/up.log" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 120); do   # 60 s
  url=$(web_url "$scratch/up.log")
  [[ -n $url ]] && curl -sf "$url/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "chaperone up exited early"
  sleep 0.5
done
curl -sf "$url/health" >/dev/null || fail "the API did not answer within a minute"
echo "up_demo: API at $url"

# Compares the tiers of every window of every topic; with FINAL_ONLY=1 only the
# windows final in all three tiers. Prints "ok N" (N windows compared) or the mismatch.
compare() {
  CHAPERONE_URL=$1 FINAL_ONLY=$2 python3 - <<'PY'
import json, os, sys, urllib.error, urllib.request
url, final_only = os.environ["CHAPERONE_URL"], os.environ["FINAL_ONLY"] == "1"
tiers = ["producer", "regional", "consumer:demo"]
compared = 0
for topic in ["orders", "payments", "clicks"]:
    try:
        d = json.load(urllib.request.urlopen(f"{url}/api/v1/topics/{topic}/series"))
    except urllib.error.HTTPError as e:  # 404 until the topic has data
        print(f"{topic}: no series yet ({e.code})"); sys.exit(0)
    by_tier = {s["tier"]: {p["window"]: p for p in s["points"]} for s in d["series"]}
    missing = [t for t in tiers if t not in by_tier]
    if missing:
        print(f"{topic}: no series for {missing}"); sys.exit(0)
    windows = set().union(*(by_tier[t].keys() for t in tiers))
    for w in sorted(windows):
        pts = [by_tier[t].get(w) for t in tiers]
        if final_only and not all(p and p["final"] for p in pts):
            continue
        got = [(p["count"], p["digest"]) if p else None for p in pts]
        if len(set(got)) != 1:
            print(f"{topic} window {w}: " + ", ".join(f"{t}={g}" for t, g in zip(tiers, got))); sys.exit(0)
        compared += 1
print(f"ok {compared}")
PY
}

# Wait for final windows in all three tiers of every topic (60 s windows + grace).
result=""
for _ in $(seq 1 300); do   # up to 150 s
  result=$(compare "$url" 1)
  [[ $result == ok* && $result != "ok 0" ]] && break
  [[ $result == ok* ]] || [[ $result == *"no series"* ]] || fail "final windows differ: $result"
  kill -0 "$pid" 2>/dev/null || fail "chaperone up exited early"
  sleep 0.5
done
[[ $result == ok* && $result != "ok 0" ]] || fail "no final window with all three tiers: $result"
echo "up_demo: final windows agree across producer, regional, consumer:demo ($result)"

# Ctrl-C: everything stops cleanly.
kill -INT "$pid"
for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
kill -0 "$pid" 2>/dev/null && fail "chaperone up did not stop within 60 s of SIGINT"
wait "$pid" && rc=0 || rc=$?
pid=""
[[ $rc == 0 ]] || fail "chaperone up exited with $rc after SIGINT"
grep -q "stopped cleanly" "$scratch/up.log" || fail "no clean stop reported"

# The store after the stop: every window, final or not, equal in all tiers.
"$bin" web --listen 127.0.0.1:0 --store "sqlite:$scratch/chaperone-data/chaperone.db" >"$scratch/web.log" 2>&1 &
web_pid=$!
wurl=""
for _ in $(seq 1 60); do
  wurl=$(web_url "$scratch/web.log")
  [[ -n $wurl ]] && curl -sf "$wurl/health" >/dev/null 2>&1 && break
  sleep 0.5
done
[[ -n $wurl ]] || { cat "$scratch/web.log" >&2; fail "chaperone web did not start on the demo's store"; }
result=$(compare "$wurl" 0)
[[ $result == ok* && $result != "ok 0" ]] || fail "after Ctrl-C the tiers differ: $result"
echo "up_demo: after Ctrl-C every window agrees across the three tiers ($result)"
echo "1 passed, 0 failed"
