#!/usr/bin/env bash
# Throughput and memory of `chaperone service` against a plain librdkafka
# consumer tuned alike (bench/plain_consumer_tool.cc), on a mock-kafka broker.
#
#   bench/service_bench.sh [BUILD_DIR]
#   env: MESSAGES (default 1000000), SMALL (100000), PARTITIONS (64), ROUNDS (3), SIZE (200 bytes),
#        QUEUE_KB and FETCH_MAX (prefetch budget of both consumers; default: the service's defaults)
#
# Each round runs the baseline and then the service, each in a fresh consumer
# group reading the whole topic; throughput is measured from the first message
# to the last (the group join is not counted). Prints the per-round figures,
# the median throughput ratio (goal >= 0.9) and the service's peak RSS
# auditing MESSAGES vs SMALL messages (goal: within 10 %).
set -euo pipefail

BUILD=${1:-build}
MESSAGES=${MESSAGES:-1000000}
SMALL=${SMALL:-100000}
PARTITIONS=${PARTITIONS:-64}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-200}
QUEUE_KB=${QUEUE_KB:-}
FETCH_MAX=${FETCH_MAX:-}
consumer_yaml="{"
[[ -n $QUEUE_KB ]] && consumer_yaml+="queued.max.messages.kbytes: $QUEUE_KB, "
[[ -n $FETCH_MAX ]] && consumer_yaml+="fetch.max.bytes: $FETCH_MAX, "
consumer_yaml="${consumer_yaml%, }}"
tool_args=()
[[ -n $QUEUE_KB ]] && tool_args+=("$QUEUE_KB") && [[ -n $FETCH_MAX ]] && tool_args+=("$FETCH_MAX")
BIN=$BUILD/bin/chaperone
TOOL=$BUILD/bin/plain_consumer_tool
for f in "$BIN" "$TOOL"; do [[ -x $f ]] || { echo "service_bench: $f not built" >&2; exit 2; }; done
command -v kcat >/dev/null || { echo "service_bench: kcat is required" >&2; exit 2; }
command -v curl >/dev/null || { echo "service_bench: curl is required" >&2; exit 2; }

work=$(mktemp -d /tmp/chaperone-service-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }

"$BIN" mock-kafka --brokers 1 --topic "bench:$PARTITIONS" --topic "small:$PARTITIONS" --topic chaperone-audit:1 \
  --bootstrap-file "$work/bootstrap" >"$work/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/bootstrap ]] && break; sleep 0.1; done
BS=$(cat "$work/bootstrap")

# KEY|JSON value of SIZE bytes with an event time spread over ~1 hour.
gen() {
  awk -v n="$1" -v size="$SIZE" 'BEGIN {
    pad = sprintf("%*s", size, ""); gsub(/ /, "x", pad);
    for (i = 0; i < n; i++) {
      v = sprintf("{\"ts\":%d,\"id\":%d,\"kind\":\"order\",\"pad\":\"", 1700000000000 + (i * 3600000) / n, i);
      v = v substr(pad, 1, size - length(v) - 2) "\"}";
      printf "u%d|%s\n", i % 100000, v;
    }
  }'
}
produce() {
  gen "$2" >"$work/data"
  kcat -P -b "$BS" -t "$1" -K '|' -X linger.ms=20 -X batch.num.messages=10000 \
    -X queue.buffering.max.messages=1000000 -l "$work/data"
  rm -f "$work/data"
}
echo "service_bench: producing $MESSAGES + $SMALL messages of $SIZE bytes into $PARTITIONS partitions ($BS)"
produce bench "$MESSAGES"
produce small "$SMALL"

# run_service TOPIC N GROUP → "seconds peak_rss_kb rss_kb_after_SMALL rss_kb_at_end"
run_service() {
  local topic=$1 n=$2 group=$3
  cat >"$work/service.yaml" <<EOF
clusters:
  bench:
    bootstrap.servers: "$BS"
service:
  tier: bench
  group_id: $group
  topics: {include: ["$topic"]}
  flush_interval_ms: 1000
  discovery_interval_ms: 1000
  listen: "127.0.0.1:0"
  consumer: $consumer_yaml
EOF
  "$BIN" service --config "$work/service.yaml" >"$work/service.out" 2>"$work/service.log" &
  local pid=$!
  pids+=($pid)
  local port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/.*REST API on port \([0-9]*\).*/\1/p' "$work/service.log" | head -1)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "service_bench: service did not start" >&2; cat "$work/service.log" >&2; exit 1; }
  local audited=0 t0="" t1="" rss_small="" deadline=$((SECONDS + 300))
  while ((audited < n)); do
    if ((SECONDS >= deadline)); then
      cp "$work/service.log" /tmp/service_bench_failure.log
      echo "service_bench: service audited only $audited of $n (log: /tmp/service_bench_failure.log)" >&2
      kill "$pid"
      exit 1
    fi
    audited=$( (curl -s "http://127.0.0.1:$port/metrics" || true) |
      awk '$1 == "chaperone_service_messages_audited_total" {print $2}')
    audited=${audited:-0}
    if [[ -z $t0 ]] && ((audited > 0)); then t0=$(now); fi
    if [[ -z $rss_small ]] && ((audited >= SMALL)); then rss_small=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status"); fi
    ((audited >= n)) && t1=$(now) && break
    sleep 0.01
  done
  local rss rss_end
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  rss_end=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" || true
  echo "$(echo "$t1 - $t0" | bc -l) $rss ${rss_small:-0} $rss_end"
}

# run_baseline TOPIC N GROUP → "seconds rss_kb"
run_baseline() {
  local out
  out=$(timeout 300 /usr/bin/time -f "rss %M" "$TOOL" "$BS" "$1" "$2" "$3" "${tool_args[@]}" 2>&1)
  local secs rss
  secs=$(echo "$out" | sed -n 's/consumed [0-9]* in \([0-9.]*\) s.*/\1/p')
  rss=$(echo "$out" | sed -n 's/^rss \([0-9]*\)$/\1/p')
  echo "$secs $rss"
}

printf "%-6s %-9s %12s %14s %12s\n" round consumer seconds "msg/s" "peak RSS KB"
ratios=()
service_rss=()
plain_rss=()
for r in $(seq "$ROUNDS"); do
  read -r bs brss < <(run_baseline bench "$MESSAGES" "plain-$r-$$")
  printf "%-6s %-9s %12.3f %14.0f %12s\n" "$r" plain "$bs" "$(echo "$MESSAGES / $bs" | bc -l)" "$brss"
  read -r ss srss rss_mid rss_end < <(run_service bench "$MESSAGES" "service-$r-$$")
  printf "%-6s %-9s %12.3f %14.0f %12s   (RSS %s KB after %d messages, %s KB after %d)\n" "$r" service "$ss" \
    "$(echo "$MESSAGES / $ss" | bc -l)" "$srss" "$rss_mid" "$SMALL" "$rss_end" "$MESSAGES"
  ratios+=("$(echo "$bs / $ss" | bc -l)")
  plain_rss+=("$brss")
  service_rss+=("$srss")
done
read -r small_s small_rss _ _ < <(run_service small "$SMALL" "service-small-$$")
read -r _ plain_small_rss < <(run_baseline small "$SMALL" "plain-small-$$")

median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio=$(median "${ratios[@]}")
big_rss=$(median "${service_rss[@]}")
printf "throughput ratio service/plain (median of %d): %.3f (goal >= 0.9)\n" "$ROUNDS" "$ratio"
printf "service peak RSS: %d KB auditing %d messages, %d KB auditing %d (%+.1f %%; goal within 10 %%)\n" \
  "$big_rss" "$MESSAGES" "$small_rss" "$SMALL" "$(echo "($big_rss - $small_rss) * 100 / $small_rss" | bc -l)"
big_plain=$(median "${plain_rss[@]}")
printf "plain consumer peak RSS: %d KB for %d messages, %d KB for %d (%+.1f %%): the client library's prefetch\n" \
  "$big_plain" "$MESSAGES" "$plain_small_rss" "$SMALL" "$(echo "($big_plain - $plain_small_rss) * 100 / $plain_small_rss" | bc -l)"
