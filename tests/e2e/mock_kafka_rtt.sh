#!/usr/bin/env bash
# `chaperone mock-kafka --rtt-ms N` delays every broker's responses by N ms
# (rd_kafka_mock_broker_set_rtt), the round trip bench/replicate_bench.sh puts
# between the replicator and its destination. Checked from outside with kcat:
# a metadata listing waits for at least one delayed response, so it cannot take
# less than N ms (a lower bound the injected delay guarantees, whatever the
# machine's load; no upper bound is judged). Out-of-range values are refused.
set -euo pipefail
BIN=${CHAPERONE_BIN:?CHAPERONE_BIN must point at build/bin/chaperone}
E2E_NAME=mock_kafka_rtt
# shellcheck source=lib/mock_kafka.bash
source "$(dirname "$0")/lib/mock_kafka.bash"
command -v kcat >/dev/null || { echo "SKIP: kcat not installed"; exit 77; }

"$BIN" mock-kafka --help | grep -q -- '--rtt-ms' || fail "--help does not list --rtt-ms"
for bad in -1 60001 soon; do
  rc=0
  "$BIN" mock-kafka --rtt-ms "$bad" >"$WORK/out" 2>&1 || rc=$?
  check_eq "exit code of --rtt-ms $bad" 2 "$rc"
done

rtt=400
start_mock_kafka --brokers 2 --topic t:2 --rtt-ms "$rtt"
t0=$(date +%s%N)
kcat -L -b "$B" -t t -m 30 >"$WORK/metadata" 2>&1 || fail "kcat -L failed: $(cat "$WORK/metadata")"
elapsed=$((($(date +%s%N) - t0) / 1000000))
grep -q 'topic "t" with 2 partitions' "$WORK/metadata" || fail "unexpected metadata: $(cat "$WORK/metadata")"
echo "kcat -L took $elapsed ms with --rtt-ms $rtt"
((elapsed >= rtt)) || fail "a metadata listing took $elapsed ms, less than the $rtt ms round trip"
echo "mock_kafka_rtt: ok"
