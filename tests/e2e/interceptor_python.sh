#!/usr/bin/env bash
# A Python confluent-kafka producer audited through libchaperone-interceptor.so
# (Debian's python3-confluent-kafka, built against the system librdkafka),
# against `chaperone mock-kafka`, next to a kcat producer. Every way the
# interpreter ends must leave an exact account on the audit topic:
#   1. flush() then the end of the script (the Producer is freed at shutdown):
#      every message counted;
#   2. no flush(): what librdkafka delivered is counted, the rest is reported
#      as failedDeliveries, and the two add up to what the script produced;
#   3. flush(), then the Producer is never freed (a reference leaked, as by a
#      daemon thread or an extension holding it): rd_kafka_destroy() never
#      runs, the plugin's exit handler reports every message and says so.
# The oracle is the script's own message count and the data topics read back
# with kcat (without the plugin).
set -euo pipefail

BIN=${CHAPERONE_BIN:?}
BUILD=${CHAPERONE_BUILD_DIR:?}
PLUGIN=$BUILD/lib/libchaperone-interceptor.so
PY=/usr/bin/python3
command -v kcat >/dev/null || { echo "SKIP: kcat not installed"; exit 77; }
command -v jq >/dev/null || { echo "FAIL: jq is required"; exit 1; }
"$PY" -c 'import confluent_kafka' 2>/dev/null || { echo "SKIP: python3-confluent-kafka not installed"; exit 77; }
[ -f "$PLUGIN" ] || { echo "FAIL: $PLUGIN not built"; exit 1; }

E2E_NAME=python
# shellcheck source=lib/mock_kafka.bash
source "$(dirname "$0")/lib/mock_kafka.bash"
start_mock_kafka --topic chaperone-audit:1

cat >"$WORK/producer.py" <<'PYEOF'
import ctypes, json, sys
from confluent_kafka import Producer

mode, bootstrap, plugin, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = Producer({"bootstrap.servers": bootstrap, "plugin.library.paths": plugin,
              "chaperone.tier": "python-" + mode, "chaperone.flush.interval.ms": "3600000"})
for i in range(n):
    p.produce("py-" + mode, json.dumps({"ts": 1700000000000, "i": i}).encode())
    p.poll(0)
if mode != "noflush":
    assert p.flush(30) == 0
if mode == "leaked":
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(p))
PYEOF

N=300
kcat -P -b "$B" -t kcat-side -X plugin.library.paths="$PLUGIN" -X chaperone.tier=kcat < <(seq "$N") &
KCAT_PID=$!
for mode in flush noflush leaked; do
  "$PY" "$WORK/producer.py" "$mode" "$B" "$PLUGIN" "$N" 2>"$WORK/$mode.err" || fail "python $mode: $(cat "$WORK/$mode.err")"
done
wait "$KCAT_PID" || fail "kcat failed"

kcat -C -b "$B" -t chaperone-audit -o beginning -e -q >"$WORK/audit.jsonl"
jq -s 'unique_by(.uuid)' "$WORK/audit.jsonl" >"$WORK/audit.json"
count() { jq --arg t "$1" '[.[] | select(.kind == "count" and .tier == $t) | .count] | add // 0' "$WORK/audit.json"; }
last_hb() { jq --arg t "$1" "[.[] | select(.kind == \"heartbeat\" and .tier == \$t)] | max_by(.seq) | .$2 // 0" "$WORK/audit.json"; }
in_topic() { kcat -C -b "$B" -t "$1" -o beginning -e -q 2>/dev/null | wc -l; }

check_eq "kcat count" "$N" "$(count kcat)"
for mode in flush leaked; do
  check_eq "python-$mode messages in the topic" "$N" "$(in_topic "py-$mode")"
  check_eq "python-$mode count" "$N" "$(count "python-$mode")"
  check_eq "python-$mode failedDeliveries" 0 "$(last_hb "python-$mode" failedDeliveries)"
done
counted=$(count python-noflush)
failed=$(last_hb python-noflush failedDeliveries)
check_eq "python-noflush counted + failedDeliveries" "$N" "$((counted + failed))"
delivered=$(in_topic py-noflush)
[ "$counted" -le "$delivered" ] || fail "python-noflush: $counted counted but only $delivered in the topic"
echo "ok: python-noflush: $counted counted, $failed failed, $delivered in the topic"
grep -q "process exiting without rd_kafka_destroy(): final audit records delivered .*; 0 messages of this producer were not yet acknowledged" \
  "$WORK/leaked.err" || fail "python-leaked: the exit handler said nothing: $(cat "$WORK/leaked.err")"
echo "ok: python-leaked: the exit handler reported: $(grep -o 'final audit records.*' "$WORK/leaked.err")"
echo "PASS"
