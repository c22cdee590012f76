#!/usr/bin/env bash
# Throughput and memory of `chaperone service` against a plain librdkafka
# consumer tuned alike (bench/plain_consumer_tool.cc), on a mock-kafka broker.
#
#   bench/service_bench.sh [BUILD_DIR]
#   env: MESSAGES (default 1000000), SMALL (100000), PARTITIONS (64), ROUNDS (3), SIZE (200 bytes),
#        BATCH_BYTES (65536: the producer's batch.size for the MESSAGES and
#        SMALL topics, so that the two differ only in their message count),
#        BIG_BATCHES (1: also run both consumers on MESSAGES produced with
#        librdkafka's default batch.size of 1 MB, batches the SMALL topic's
#        partitions are too short to form; 0: skip),
#        KEEP_LOGS (set: keep the work folder with each service run's log and
#        a trace of its progress and memory, service_watch_tool's TRACE_FILE)
#        CONSUMER ("key=value key=value": consumer properties both consumers
#        override alike; default: none, i.e. the service's own defaults,
#        which the baseline shares),
#        BASELINE ("key=value ...": the baseline's own overrides, applied
#        after CONSUMER; default "queued.max.messages.kbytes=8192
#        fetch.max.bytes=2097152", its fastest setting: plain librdkafka 2.0.2
#        idles for up to a second each time its queue fills, and 8 MB is the
#        smallest queue with which it did not, in our runs, while the service
#        wakes its fetchers itself; see docs/performance.md),
#        BASELINE_MALLOC (same: the baseline allocates with the service's
#        allocator and settings, read from `chaperone --version`, preloaded;
#        system: with the C library's malloc, as a plain consumer usually
#        runs; default same)
#
# Each round runs the baseline and then the service, each in a fresh consumer
# group reading the whole topic; throughput is measured from the first message
# to the last (the group join is not counted); a round faster than its
# stopwatch's resolution gets a lower bound (">N msg/s") and is left out of the
# ratio. Prints the per-round figures,
# the median throughput ratio (goal >= 0.9) and the service's peak RSS
# auditing MESSAGES vs SMALL messages (medians of the rounds; goal: within 10 %).
#
# Why the batch size is fixed: the mock broker answers a fetch with one
# producer batch per partition, and the consumer holds each response buffer
# until the last of its messages is consumed, so the batch size sets the size
# of what is in flight. With librdkafka's default (1 MB, up to 10 000
# messages) MESSAGES over 64 partitions form ~1 MB batches and SMALL (about
# 360 KB a partition) cannot: comparing those two measures the batch size,
# not the message count. The BIG_BATCHES rows report that case separately.
set -euo pipefail
# rate, row, ratio, median, growth, summary_ratio: never a division by a zero duration.
# shellcheck source=bench_math.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_math.sh"
# baseline_allocator, gen_messages, bench_workdir.
# shellcheck source=bench_kafka.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_kafka.sh"

BUILD=${1:-build}
MESSAGES=${MESSAGES:-1000000}
BATCH_BYTES=${BATCH_BYTES:-65536}
BIG_BATCHES=${BIG_BATCHES:-1}
[[ $BATCH_BYTES =~ ^[1-9][0-9]*$ ]] || { echo "service_bench: BATCH_BYTES is a byte count, got '$BATCH_BYTES'" >&2; exit 2; }
[[ $BIG_BATCHES == [01] ]] || { echo "service_bench: BIG_BATCHES is 0 or 1, got '$BIG_BATCHES'" >&2; exit 2; }
SMALL=${SMALL:-100000}
PARTITIONS=${PARTITIONS:-64}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-200}
read -r -a consumer_args <<<"${CONSUMER:-}"
read -r -a baseline_args <<<"${BASELINE-queued.max.messages.kbytes=8192 fetch.max.bytes=2097152}"
tool_args=("${consumer_args[@]}" "${baseline_args[@]}")
for kv in "${tool_args[@]}"; do
  [[ $kv == ?*=* ]] || { echo "service_bench: CONSUMER and BASELINE take key=value pairs, got '$kv'" >&2; exit 2; }
done
consumer_yaml="{"
for kv in "${consumer_args[@]}"; do
  consumer_yaml+="\"${kv%%=*}\": \"${kv#*=}\", "
done
consumer_yaml="${consumer_yaml%, }}"
BIN=$BUILD/bin/chaperone
TOOL=$BUILD/bin/plain_consumer_tool
WATCH=$BUILD/bin/service_watch_tool
for f in "$BIN" "$TOOL" "$WATCH"; do [[ -x $f ]] || { echo "service_bench: $f not built" >&2; exit 2; }; done
command -v kcat >/dev/null || { echo "service_bench: kcat is required" >&2; exit 2; }

# The baseline's allocator: the service's own unless BASELINE_MALLOC=system.
baseline_allocator service_bench "$BIN"
bench_workdir service-bench

"$BIN" mock-kafka --brokers 1 --topic "bench:$PARTITIONS" --topic "small:$PARTITIONS" \
  --topic "bench-big-batches:$PARTITIONS" --topic chaperone-audit:1 \
  --bootstrap-file "$work/bootstrap" >"$work/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/bootstrap ]] && break; sleep 0.1; done
BS=$(cat "$work/bootstrap")

# produce TOPIC N BATCH_SIZE
produce() {
  gen_messages "$2" "$SIZE" >"$work/data"
  kcat -P -b "$BS" -t "$1" -K '|' -X linger.ms=20 -X batch.num.messages=10000 -X batch.size="$3" \
    -X queue.buffering.max.messages=1000000 -l "$work/data"
  rm -f "$work/data"
}
echo "service_bench: baseline allocator: $allocator"
echo "service_bench: producing $MESSAGES + $SMALL messages of $SIZE bytes into $PARTITIONS partitions" \
  "in batches of up to $BATCH_BYTES bytes ($BS)"
produce bench "$MESSAGES" "$BATCH_BYTES"
produce small "$SMALL" "$BATCH_BYTES"
if [[ $BIG_BATCHES == 1 ]]; then
  echo "service_bench: producing $MESSAGES messages in batches of up to 1 MB (librdkafka's default)"
  produce bench-big-batches "$MESSAGES" 1000000
fi

# run_service TOPIC N GROUP → "seconds peak_rss_kb rss_kb_after_SMALL rss_kb_at_end
#   peak_rss_kb_when_counted tick_seconds" (service_watch_tool's figures)
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
  local log_copy=$work/service-$group.log
  local pid=$!
  pids+=($pid)
  local port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/.*REST API on port \([0-9]*\).*/\1/p' "$work/service.log" | head -1)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "service_bench: service did not start" >&2; cat "$work/service.log" >&2; exit 1; }
  # Throughput: until every message is counted. Memory: until every count is
  # also reported and committed (the flush is part of auditing them).
  local figures
  if ! figures=$("$WATCH" "$port" "$pid" "$n" "$SMALL" 5 300 ${KEEP_LOGS:+"$work/service-$group.trace"}); then
    cp "$work/service.log" /tmp/service_bench_failure.log
    echo "service_bench: the service did not audit and commit $n messages (log: /tmp/service_bench_failure.log)" >&2
    exit 1
  fi
  kill -TERM "$pid"
  wait "$pid" || true
  cp "$work/service.log" "$log_copy"
  echo "$figures"
}

# run_baseline TOPIC N GROUP → "seconds rss_kb" (seconds to the microsecond: plain_tick)
plain_tick=0.000001
run_baseline() {
  local out
  out=$(env "${baseline_env[@]}" timeout 300 /usr/bin/time -f "rss %M" "$TOOL" "$BS" "$1" "$2" "$3" "${tool_args[@]}" 2>&1)
  local secs rss
  secs=$(echo "$out" | sed -n 's/consumed [0-9]* in \([0-9.]*\) s.*/\1/p')
  rss=$(echo "$out" | sed -n 's/^rss \([0-9]*\)$/\1/p')
  echo "$secs $rss"
}

printf "%-6s %-9s %9s %12s %14s %12s\n" round consumer messages seconds "msg/s" "peak RSS KB"
ratios=()
service_rss=()
plain_rss=()
service_small_rss=()
plain_small_rss=()
big_ratios=()
service_big_rss=()
for r in $(seq "$ROUNDS"); do
  read -r bs brss < <(run_baseline bench "$MESSAGES" "plain-$r-$$")
  row "$r" plain "$MESSAGES" "$bs" "$plain_tick" "$brss"
  read -r ss srss rss_mid rss_end hwm_counted tick < <(run_service bench "$MESSAGES" "service-$r-$$")
  row "$r" service "$MESSAGES" "$ss" "$tick" "$srss" "   (RSS $rss_mid KB after $SMALL messages, $rss_end KB after $MESSAGES; peak $hwm_counted KB before the last flush)"
  q=$(ratio "$bs" "$ss")
  [[ -z $q ]] || ratios+=("$q")
  plain_rss+=("$brss")
  service_rss+=("$srss")
  read -r ps prss < <(run_baseline small "$SMALL" "plain-small-$r-$$")
  row "$r" plain "$SMALL" "$ps" "$plain_tick" "$prss"
  read -r sms smrss _ _ hwm_counted tick < <(run_service small "$SMALL" "service-small-$r-$$")
  row "$r" service "$SMALL" "$sms" "$tick" "$smrss" "   (peak $hwm_counted KB before the last flush)"
  plain_small_rss+=("$prss")
  service_small_rss+=("$smrss")
  if [[ $BIG_BATCHES == 1 ]]; then
    read -r bs brss < <(run_baseline bench-big-batches "$MESSAGES" "plain-big-$r-$$")
    row "$r" plain-1MB "$MESSAGES" "$bs" "$plain_tick" "$brss"
    read -r ss srss _ _ _ tick < <(run_service bench-big-batches "$MESSAGES" "service-big-$r-$$")
    row "$r" svc-1MB "$MESSAGES" "$ss" "$tick" "$srss"
    q=$(ratio "$bs" "$ss")
    [[ -z $q ]] || big_ratios+=("$q")
    service_big_rss+=("$srss")
  fi
done

service_big=$(median "${service_rss[@]}")
service_small=$(median "${service_small_rss[@]}")
printf "throughput ratio service/plain (median of %d, batches of up to %d bytes): %s (goal >= 0.9)\n" \
  "$ROUNDS" "$BATCH_BYTES" "$(summary_ratio "$ROUNDS" ${ratios[@]+"${ratios[@]}"})"
printf "service peak RSS (medians): %d KB auditing %d messages, %d KB auditing %d (%s; goal within 10 %%)\n" \
  "$service_big" "$MESSAGES" "$service_small" "$SMALL" "$(growth "$service_big" "$service_small")"
plain_big=$(median "${plain_rss[@]}")
plain_small=$(median "${plain_small_rss[@]}")
printf "plain consumer peak RSS (medians): %d KB for %d messages, %d KB for %d (%s)\n" \
  "$plain_big" "$MESSAGES" "$plain_small" "$SMALL" "$(growth "$plain_big" "$plain_small")"
if [[ $BIG_BATCHES == 1 ]]; then
  service_1mb=$(median "${service_big_rss[@]}")
  printf "1 MB batches: throughput ratio %s (median of %d); service peak RSS %d KB auditing %d messages (%s on the %d-message run above)\n" \
    "$(summary_ratio "$ROUNDS" ${big_ratios[@]+"${big_ratios[@]}"})" "$ROUNDS" "$service_1mb" "$MESSAGES" "$(growth "$service_1mb" "$service_small")" "$SMALL"
fi
