#!/usr/bin/env bash
# Collector ingest end to end: N legacy-shape audit records on a mock-kafka
# audit topic (16 partitions; the mock keeps ~5 MiB per partition, so N <= ~200000), then `chaperone collector` from a cold start until
# it has applied all of them; prints records/s (consume + decode + Apply).
#   bench/collector_ingest.sh [N] [STORE]      (default 100000, a temp SQLite file)
# STORE: a store URL, or `postgresql` / `mariadb` for a throwaway durable local
# server (PostgreSQL: fsync and synchronous_commit on; MariaDB: the log flushed
# at each commit), started by build/bin/collector_ingest_bench --serve.
# First prints how fast a plain consumer reads the same messages (the ceiling
# here: the mock broker shares the machine). Prints the collector's CPU seconds too (user + system, from /proc): records
# per CPU-second is steadier than the wall clock on a shared machine.
set -euo pipefail
N=${1:-100000}
BIN=${CHAPERONE_BIN:-build/bin/chaperone}
BENCH=${CHAPERONE_BENCH_BIN:-build/bin/collector_ingest_bench}
PLAIN=${CHAPERONE_PLAIN_BIN:-$(dirname "$BENCH")/plain_consumer_tool}
work=$(mktemp -d /tmp/chaperone-ingest-XXXXXX)
STORE=${2:-sqlite:$work/chaperone.db}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

if [[ $STORE == postgresql || $STORE == mariadb ]]; then
  "$BENCH" "--serve=$STORE" "$work/store-url" </dev/null >"$work/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do [[ -s $work/store-url ]] && break; sleep 0.1; done
  [[ -s $work/store-url ]] || { echo "collector_ingest: the $STORE server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
  STORE=$(cat "$work/store-url")
fi

"$BIN" mock-kafka --topic chaperone-audit:16 --bootstrap-file "$work/bootstrap" >"$work/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/bootstrap ]] && break; sleep 0.1; done
BS=$(cat "$work/bootstrap")

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) {
  t = "topic-" (i % 50); w = 1795303800 + 600 * int(i / 50000);
  printf "%s\t{\"topicName\":\"%s\",\"timeBeginInSec\":%d,\"timeEndInSec\":%d,\"totalBytes\":%d,\"count\":%d,\"noTimeCount\":0,\"malformedCount\":0,\"meanLatency\":12.5,\"latency95\":30.0,\"latency99\":41.0,\"maxLatency\":48.0,\"tier\":\"regional\",\"hostname\":\"w%d\",\"datacenter\":\"dc1\",\"uuid\":\"ingest-%d\"}\n", t, t, w, w + 600, 100 * (i % 90), i % 90, i % 20, i } }' \
  >"$work/records.txt"
kcat -P -b "$BS" -t chaperone-audit -K '\t' -X queue.buffering.max.messages=1000000 -X linger.ms=50 <"$work/records.txt"

# The ceiling on this machine: a plain consumer (no decoding, no store) reading the same messages.
if [[ -x $PLAIN ]]; then
  echo "plain consumer (ceiling): $("$PLAIN" "$BS" chaperone-audit "$N" ingest-ceiling | sed 's/ checksum.*//')"
fi

start=$(date +%s.%N)
"$BIN" collector --bootstrap-servers "$BS" --store "$STORE" --listen 127.0.0.1:0 \
  -X fetch.wait.max.ms=10 >"$work/collector.log" 2>&1 &
pids+=($!)
port=""
for _ in $(seq 100); do
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/collector.log" | head -1 | sed 's/.*://') || true
  [[ -n $port ]] && break; sleep 0.1
done
applied=0
stuck=0
t0=""  # the first sample that saw records applied, and how many
a0=0
while (( applied < N )); do
  sleep 0.05
  metrics=$(curl -s "http://127.0.0.1:$port/metrics")
  now=$(awk '/^chaperone_collector_records_applied_total/ { print $2 }' <<<"$metrics")
  lag=$(awk '/^chaperone_collector_lag_messages/ { print $2 }' <<<"$metrics")
  if [[ ${now:-0} == "$applied" && ${lag:-1} == 0 && $applied -gt 0 ]]; then stuck=$((stuck + 1)); else stuck=0; fi
  if (( stuck > 200 )); then echo "collector_ingest: caught up at $applied of $N records: the broker kept fewer" >&2; exit 1; fi
  applied=${now:-0}
  if [[ -z $t0 ]] && (( applied > 0 )); then t0=$(date +%s.%N); a0=$applied; fi
done
end=$(date +%s.%N)
read -r -a stat < <(sed 's/.*) //' "/proc/${pids[-1]}/stat")
cpu=$(awk -v u="${stat[11]}" -v s="${stat[12]}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (u + s) / hz }')
# The consumer group join (~3 s on the mock broker) is excluded: time from the assignment, and the steady rate
# from the first sample that saw a batch applied to the last.
first=$(grep -m1 -o '^\[[^]]*\] \[info\] collector: assigned' "$work/collector.log" | cut -c2-24)
first_s=$(date -d "$first" +%s.%N)
awk -v n="$N" -v s="$first_s" -v e="$end" -v t0="$t0" -v a0="$a0" -v store="${STORE%%:*}" -v cpu="$cpu" \
  'BEGIN { printf "collector ingest (%s): %d records in %.2f s from the assignment = %.0f records/s; steady %.0f records/s (%d records after the first batch in %.2f s); collector CPU %.2f s = %.0f records per CPU-second\n", store, n, e - s, n / (e - s), (n - a0) / (e - t0), n - a0, e - t0, cpu, n / cpu }'
