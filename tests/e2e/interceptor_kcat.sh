#!/usr/bin/env bash
# kcat audited through libchaperone-interceptor.so, against `chaperone mock-kafka`:
#   1. kcat produces N messages with known event times (JSON), plus non-JSON
#      payloads and tombstones; a kcat consumer group reads them back; the audit
#      topic then holds, for the producer tier and for consumer:<group>, counts
#      per window equal to what was sent and digests equal to the expected ones
#      (computed independently by chaperone-test-digest);
#   2. an unknown chaperone.* property makes kcat fail with the reason;
#   3. an unreachable audit cluster does not disturb the client: it delivers
#      everything, exits 0 within its close timeout and says on stderr what it
#      could not report. (A missing audit topic cannot be staged here, since
#      mock-kafka creates topics on demand: see the component tests.)
set -euo pipefail

BIN=${CHAPERONE_BIN:?}
BUILD=${CHAPERONE_BUILD_DIR:?}
PLUGIN=$BUILD/lib/libchaperone-interceptor.so
DIGEST=$BUILD/bin/chaperone-test-digest
command -v kcat >/dev/null || { echo "SKIP: kcat not installed"; exit 0; }
command -v jq >/dev/null || { echo "FAIL: jq is required"; exit 1; }
[ -f "$PLUGIN" ] || { echo "FAIL: $PLUGIN not built"; exit 1; }

E2E_NAME=interceptor
# shellcheck source=lib/mock_kafka.bash
source "$(dirname "$0")/lib/mock_kafka.bash"
start_mock_kafka --topic orders:3 --topic chaperone-audit:1

# ---- 1. producer and consumer tiers ------------------------------------------
W0=1700000400  # a 600 s window start, far from the wall clock (the record-time messages land elsewhere)
W1=$((W0 + 600))
awk -v w0="$W0" 'BEGIN {
  for (i = 0; i < 1000; i++) printf "key%d\t{\"ts\":%.0f,\"id\":%d}\n", i, w0 * 1000 + i * 7, i;
}' >"$WORK/w0.txt"
awk -v w1="$W1" 'BEGIN {
  for (i = 0; i < 1000; i++) printf "key%d\t{\"id\":%d,\"meta\":[1,2],\"ts\":%.0f}\n", 1000 + i, i, w1 * 1000 + i * 7;
}' >"$WORK/w1.txt"
{
  for i in $(seq 10); do printf 'bad%d\tnot json %d\n' "$i" "$i"; done  # malformed: record time
  for i in $(seq 5); do printf 'dead%d\t\n' "$i"; done                   # tombstones (-Z): record time
} >"$WORK/other.txt"
cat "$WORK/w0.txt" "$WORK/w1.txt" "$WORK/other.txt" | shuf --random-source=<(yes) >"$WORK/all.txt"
N=$(wc -l <"$WORK/all.txt")
read -r _ D0 < <("$DIGEST" -K $'\t' -Z <"$WORK/w0.txt")
read -r _ D1 < <("$DIGEST" -K $'\t' -Z <"$WORK/w1.txt")
read -r _ DO < <("$DIGEST" -K $'\t' -Z <"$WORK/other.txt")

kcat -P -b "$B" -t orders -K $'\t' -Z \
  -X plugin.library.paths="$PLUGIN" -X chaperone.tier=producer -X chaperone.flush.interval.ms=1000 \
  <"$WORK/all.txt"
timeout 120 kcat -b "$B" -G e2e-group orders -c "$N" -q \
  -X plugin.library.paths="$PLUGIN" -X auto.offset.reset=earliest -X chaperone.flush.interval.ms=1000 \
  >"$WORK/consumed.txt"
check_eq "messages consumed" "$N" "$(wc -l <"$WORK/consumed.txt")"

kcat -C -b "$B" -t chaperone-audit -o beginning -e -q >"$WORK/audit.jsonl"
jq -s 'unique_by(.uuid)' "$WORK/audit.jsonl" >"$WORK/audit.json"  # the collector dedups on uuid

sum_field() {  # tier field jq-window-filter
  jq --arg t "$1" "[.[] | select(.kind == \"count\" and .tier == \$t and .topicName == \"orders\") | select($3) | .$2] | add // 0" \
    "$WORK/audit.json"
}
sum_digest() {  # tier jq-window-filter -> 16 hex digits, sums mod 2^64
  local s=0 d
  for d in $(jq -r --arg t "$1" ".[] | select(.kind == \"count\" and .tier == \$t and .topicName == \"orders\") | select($2) | .digest" "$WORK/audit.json"); do
    s=$((s + 0x$d))
  done
  printf '%016x' "$s"
}

for tier in producer consumer:e2e-group; do
  check_eq "$tier count in window $W0" 1000 "$(sum_field "$tier" count ".timeBeginInSec == $W0")"
  check_eq "$tier count in window $W1" 1000 "$(sum_field "$tier" count ".timeBeginInSec == $W1")"
  check_eq "$tier count in other windows" 15 "$(sum_field "$tier" count ".timeBeginInSec != $W0 and .timeBeginInSec != $W1")"
  check_eq "$tier malformed" 10 "$(sum_field "$tier" malformedCount true)"
  check_eq "$tier noTime" 0 "$(sum_field "$tier" noTimeCount true)"
  check_eq "$tier digest in window $W0" "$D0" "$(sum_digest "$tier" ".timeBeginInSec == $W0")"
  check_eq "$tier digest in window $W1" "$D1" "$(sum_digest "$tier" ".timeBeginInSec == $W1")"
  check_eq "$tier digest in other windows" "$DO" "$(sum_digest "$tier" ".timeBeginInSec != $W0 and .timeBeginInSec != $W1")"
  hb=$(jq -c --arg t "$tier" '[.[] | select(.kind == "heartbeat" and .tier == $t)] | max_by(.seq)' "$WORK/audit.json")
  [ "$hb" != "null" ] || fail "$tier: no heartbeat"
  check_eq "$tier droppedRecords" 0 "$(jq '.droppedRecords' <<<"$hb")"
  check_eq "$tier failedDeliveries" 0 "$(jq '.failedDeliveries' <<<"$hb")"
  check_eq "$tier droppedObservations" 0 "$(jq '.droppedObservations // 0' <<<"$hb")"
  # One emitter per client, each with a gap-free seq.
  check_eq "$tier emitters" 1 "$(jq --arg t "$tier" '[.[] | select(.tier == $t) | .emitterId] | unique | length' "$WORK/audit.json")"
  check_eq "$tier seq gap-free" true \
    "$(jq --arg t "$tier" '[.[] | select(.tier == $t) | .seq] | sort | . == [range(0; length)]' "$WORK/audit.json")"
done

# ---- 2. an unknown property fails the client with the reason -----------------
if echo x | kcat -P -b "$B" -t orders -X plugin.library.paths="$PLUGIN" -X chaperone.flush.interval=5 \
  2>"$WORK/bad.err"; then
  fail "kcat accepted chaperone.flush.interval"
fi
grep -q "unknown property chaperone.flush.interval" "$WORK/bad.err" || fail "no reason given: $(cat "$WORK/bad.err")"
echo "ok: unknown property rejected: $(head -c 120 "$WORK/bad.err")"

# ---- 3. the audit path is broken; the client is not ---------------------------
topic_size() { kcat -C -b "$B" -t "$1" -o beginning -e -q | wc -l; }

start=$(date +%s%N)
kcat -P -b "$B" -t orders-unreachable -K $'\t' -Z \
  -X plugin.library.paths="$PLUGIN" -X chaperone.audit.bootstrap.servers=127.0.0.1:1 \
  -X chaperone.report.timeout.ms=500 -X chaperone.close.timeout.ms=1000 \
  <"$WORK/all.txt" 2>"$WORK/unreachable.err" || fail "kcat failed with an unreachable audit cluster"
echo "info: unreachable audit cluster: kcat ran $(( ($(date +%s%N) - start) / 1000000 )) ms"
check_eq "messages delivered with an unreachable audit cluster" "$N" "$(topic_size orders-unreachable)"
grep -q "could not be delivered" "$WORK/unreachable.err" || fail "lost records not reported: $(cat "$WORK/unreachable.err")"
echo "ok: unreachable audit cluster reported on stderr"

echo "PASS"
