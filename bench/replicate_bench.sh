#!/usr/bin/env bash
# Throughput and peak RSS of `chaperone replicate` against a plain librdkafka
# consume → produce loop tuned alike (bench/plain_copy_tool.cc), between two
# `chaperone mock-kafka` clusters, in one run, alternating (issue 15).
#
#   bench/replicate_bench.sh [--messages N] [--partitions P] [--rounds R] [--size B]
#                            [--rtt-ms MS] [--build DIR] [--timeout-s S]
#   defaults: 1000000 messages of 200 B over 64 partitions, 3 rounds, 0 ms.
#   env: PRODUCER ("key=value ..."): producer properties both copiers get
#          (default "linger.ms=5 batch.size=1000000 compression.type=none";
#          both always produce with acks=all and enable.idempotence=true),
#        CONSUMER ("key=value ..."): consumer properties both get (default
#          none: the audit service's consumer tuning, which the baseline
#          starts from and the replicator's loop shares),
#        BASELINE ("key=value ..."): the baseline's own consumer overrides,
#          after CONSUMER (default "queued.max.messages.kbytes=65536
#          fetch.max.bytes=2097152": plain librdkafka 2.0.2 idles each time its
#          prefetch queue fills, which a copy loop's slower consumer makes
#          frequent: with the service's 2 MB queue the baseline copied 22 k
#          msg/s, with 8 MB 80 k, with 64 MB 375-530 k; the replicator's loop wakes
#          its fetchers itself. So the bar is the baseline's fast setting, at
#          the cost of its RSS; docs/performance.md, "Replicator"),
#        BASELINE_MALLOC (same: the baseline runs on chaperone's allocator,
#          preloaded; system: on the C library's malloc; default same),
#        BATCH_BYTES (65536: batch.size of the producer that fills the source),
#        KEEP_LOGS (set: keep the work folder with every copier's log).
#
# Setup: one source cluster (1 broker, topic `bench` with P partitions),
# filled once by kcat with N keyed JSON messages of B bytes, each with one
# header. Each run then gets a fresh destination cluster (1 broker; `bench`
# with P partitions, `chaperone-audit` and `chaperone-replicate-checkpoints`
# created up front, since the 2.0.2 mock cannot create topics on request;
# --rtt-ms delays every answer of that broker) and a fresh consumer group on
# the source, so both copiers always start from the same state: the whole
# source to copy into an empty destination. Renaming the destination topic per
# round instead would need a rename the baseline does not have.
#
# Measured from the destination alone (bench/copy_watch_tool.cc): the copier
# is started once the destination is reachable and empty, and the sum of the
# destination topic's high watermarks is polled until it reaches N; then the
# copier gets SIGTERM (the baseline exits by itself once N are acknowledged).
# Throughput is N over the time from the first poll that saw a message to the
# poll that saw N (group join and startup not counted; each end known to
# within the poll's duration, printed as the resolution); the time from start
# is printed beside it. Peak RSS is the copier's over its whole life (wait4).
#
# Prints the machine, every run, the median throughput ratio replicator/plain
# next to its goal (>= 0.9) and the peak RSS medians. When `chaperone
# replicate` does not exist in the build, runs and reports the baseline alone,
# says so, and exits 77.
set -euo pipefail
# rate, row, ratio, median, summary_ratio: never a division by a zero duration.
# shellcheck source=bench_math.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_math.sh"
# baseline_allocator, gen_messages (as bench/service_bench.sh's data), bench_workdir,
# machine, start_mock, stop_mock.
# shellcheck source=bench_kafka.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_kafka.sh"

MESSAGES=1000000
PARTITIONS=64
ROUNDS=3
SIZE=200
RTT_MS=0
BUILD=build
TIMEOUT_S=600
die() { echo "replicate_bench: $*" >&2; exit 2; }
while (($#)); do
  case $1 in
    --messages | --partitions | --rounds | --size | --rtt-ms | --build | --timeout-s)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
        --messages) MESSAGES=$2 ;; --partitions) PARTITIONS=$2 ;; --rounds) ROUNDS=$2 ;;
        --size) SIZE=$2 ;; --rtt-ms) RTT_MS=$2 ;; --build) BUILD=$2 ;; --timeout-s) TIMEOUT_S=$2 ;;
      esac
      shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $MESSAGES =~ ^[1-9][0-9]*$ ]] || die "--messages is a positive count, got '$MESSAGES'"
[[ $PARTITIONS =~ ^[1-9][0-9]*$ ]] && ((PARTITIONS <= 10000)) || die "--partitions is from 1 to 10000, got '$PARTITIONS'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds is a positive count, got '$ROUNDS'"
[[ $SIZE =~ ^[1-9][0-9]*$ ]] && ((SIZE >= 64)) || die "--size is a byte count of at least 64, got '$SIZE'"
[[ $RTT_MS =~ ^[0-9]+$ ]] && ((RTT_MS <= 60000)) || die "--rtt-ms is from 0 to 60000, got '$RTT_MS'"
[[ $TIMEOUT_S =~ ^[1-9][0-9]*$ ]] || die "--timeout-s is a positive number of seconds, got '$TIMEOUT_S'"
BATCH_BYTES=${BATCH_BYTES:-65536}
[[ $BATCH_BYTES =~ ^[1-9][0-9]*$ ]] || die "BATCH_BYTES is a byte count, got '$BATCH_BYTES'"
read -r -a producer_args <<<"${PRODUCER-linger.ms=5 batch.size=1000000 compression.type=none}"
read -r -a consumer_args <<<"${CONSUMER:-}"
read -r -a baseline_args <<<"${BASELINE-queued.max.messages.kbytes=65536 fetch.max.bytes=2097152}"
for kv in "${producer_args[@]}" "${consumer_args[@]}" "${baseline_args[@]}"; do
  [[ $kv == ?*=* ]] || die "PRODUCER, CONSUMER and BASELINE take key=value pairs, got '$kv'"
done
# yaml_map KEY=VALUE... → {"k": "v", ...}
yaml_map() {
  local out="{" kv
  for kv in "$@"; do out+="\"${kv%%=*}\": \"${kv#*=}\", "; done
  echo "${out%, }}"
}

BIN=$BUILD/bin/chaperone
COPY=$BUILD/bin/plain_copy_tool
WATCH=$BUILD/bin/copy_watch_tool
for f in "$BIN" "$COPY" "$WATCH"; do [[ -x $f ]] || die "$f not built (make build; bench tools need CHAPERONE_BENCH=ON)"; done
command -v kcat >/dev/null || die "kcat is required"

# The baseline's allocator: chaperone's own unless BASELINE_MALLOC=system.
baseline_allocator replicate_bench "$BIN"

# Is the replicator in this build? (Without the subcommand, `replicate --help`
# prints chaperone's own help, whose usage line does not name it.)
have_replicator=0
replicate_help=$("$BIN" replicate --help 2>&1) || true
if grep -Eq '^Usage: [^ ]+ replicate( |$)' <<<"$replicate_help"; then have_replicator=1; fi

bench_workdir replicate-bench

echo "replicate_bench: $MESSAGES messages of $SIZE B over $PARTITIONS partitions, $ROUNDS rounds," \
  "destination round trip $RTT_MS ms"
echo "replicate_bench: producer (both): ${producer_args[*]} acks=all enable.idempotence=true;" \
  "consumer (both): ${consumer_args[*]:-service defaults}; baseline consumer: ${baseline_args[*]:-none};" \
  "baseline allocator: $allocator"
machine

start_mock src --topic "bench:$PARTITIONS"
SRC=$MOCK_BS
gen_messages "$MESSAGES" "$SIZE" >"$work/data"
echo "replicate_bench: filling the source ($SRC) in batches of up to $BATCH_BYTES bytes"
kcat -P -b "$SRC" -t bench -K '|' -H origin=bench -X linger.ms=20 -X batch.num.messages=10000 \
  -X batch.size="$BATCH_BYTES" -X queue.buffering.max.messages=1000000 -l "$work/data"
rm -f "$work/data"
held=$("$WATCH" --count "$SRC" bench "$PARTITIONS")
[[ $held == "$MESSAGES" ]] || { echo "replicate_bench: the source holds $held messages, not $MESSAGES" >&2; exit 1; }

group_key=0
if ((have_replicator)) && grep -q -- '--group-id' <<<"$replicate_help"; then group_key=1; fi

# run_copy plain|replicator ROUND → "first_s done_s tick_s copied peak_rss_kb exit" (copy_watch_tool)
run_copy() {
  local kind=$1 round=$2 cmd
  start_mock "dst-$kind-$round" --rtt-ms "$RTT_MS" --topic "bench:$PARTITIONS" --topic chaperone-audit:1 \
    --topic chaperone-replicate-checkpoints:1
  local dst_pid=$MOCK_PID dst=$MOCK_BS
  if [[ $kind == plain ]]; then
    cmd=(env "${baseline_env[@]}" "$COPY" --source "$SRC" --destination "$dst" --topic bench --count "$MESSAGES"
      --group "plain-copy-$round-$$" --flush-interval-ms 1000 --timeout-s "$TIMEOUT_S")
    for kv in "${producer_args[@]}"; do cmd+=(-P "$kv"); done
    for kv in "${consumer_args[@]}" "${baseline_args[@]}"; do cmd+=(-C "$kv"); done
  else
    {
      echo "clusters:"
      echo "  src: {bootstrap.servers: \"$SRC\"}"
      echo "  dst: {bootstrap.servers: \"$dst\"}"
      echo "replicate:"
      echo "  source: {cluster: src}"
      echo "  destination: {cluster: dst}"
      echo "  topics: {include: [\"bench\"]}"
      ((group_key)) && echo "  group_id: chaperone-replicate-bench-$round-$$"
      echo "  flush_interval_ms: 1000"
      echo "  listen: 127.0.0.1:0"
      echo "  producer: $(yaml_map "${producer_args[@]}")"
      ((${#consumer_args[@]})) && echo "  consumer: $(yaml_map "${consumer_args[@]}")"
      true
    } >"$work/replicate-$round.yaml"
    cmd=("$BIN" replicate --config "$work/replicate-$round.yaml")
  fi
  local figures rc=0
  figures=$("$WATCH" "$dst" bench "$PARTITIONS" "$MESSAGES" "$TIMEOUT_S" "$work/$kind-$round.log" -- "${cmd[@]}") || rc=$?
  stop_mock "$dst_pid"
  if ((rc != 0)); then
    cp "$work/$kind-$round.log" "/tmp/replicate_bench_$kind.log" 2>/dev/null || true
    echo "replicate_bench: $kind, round $round: the destination did not reach $MESSAGES messages" \
      "($figures; log: /tmp/replicate_bench_$kind.log)" >&2
    tail -5 "$work/$kind-$round.log" >&2 || true
    exit 1
  fi
  # figures: first_s F done_s D tick_s T copied C peak_rss_kb K exit E
  awk '{print $2, $4, $6, $8, $10, $12}' <<<"$figures"
}

# report ROUND KIND FIGURES... → one row; sets SECS and RSS
report() {
  local round=$1 kind=$2 first finish tick copied rss code note
  read -r first finish tick copied rss code <<<"$3"
  SECS=$(awk -v a="$first" -v b="$finish" 'BEGIN { printf "%.6f", b - a }')
  RSS=$rss
  [[ $(rate "$MESSAGES" "$SECS" "$tick") == \>* ]] || echo "$(rate "$MESSAGES" "$SECS" "$tick")" >>"$work/$kind.rates"
  note="   (start to done $(printf %.3f "$finish") s"
  ((copied > MESSAGES)) && note+="; destination holds $copied: $((copied - MESSAGES)) duplicates"
  ((code != 0 && code != 143)) && note+="; exit $code"
  row "$round" "$kind" "$MESSAGES" "$SECS" "$tick" "$RSS" "$note)"
  echo "$finish" >>"$work/$kind.total"
}

printf "%-6s %-10s %9s %12s %14s %12s\n" round copier messages seconds "msg/s" "peak RSS KB"
ratios=()
total_ratios=()
plain_rss=()
repl_rss=()
for r in $(seq "$ROUNDS"); do
  figures=$(run_copy plain "$r") || exit 1
  report "$r" plain "$figures"
  plain_secs=$SECS
  plain_total=$(tail -1 "$work/plain.total")
  plain_rss+=("$RSS")
  if ((have_replicator)); then
    figures=$(run_copy replicator "$r") || exit 1
    report "$r" replicator "$figures"
    q=$(ratio "$plain_secs" "$SECS")
    [[ -z $q ]] || ratios+=("$q")
    total_ratios+=("$(ratio "$plain_total" "$(tail -1 "$work/replicator.total")")")
    repl_rss+=("$RSS")
  fi
done
machine
# median_rate KIND → the median msg/s of the timed runs, or "unmeasured"
median_rate() {
  if [[ -s $work/$1.rates ]]; then
    # shellcheck disable=SC2046
    awk -v m="$(median $(cat "$work/$1.rates"))" 'BEGIN { printf "%.0f", m }'
  else echo unmeasured; fi
}
if ((have_replicator)); then
  printf "median throughput: replicator %s msg/s, plain %s msg/s\n" "$(median_rate replicator)" "$(median_rate plain)"
  printf "throughput ratio replicator/plain (median of %d, round trip %d ms): %s (goal >= 0.9)\n" \
    "$ROUNDS" "$RTT_MS" "$(summary_ratio "$ROUNDS" ${ratios[@]+"${ratios[@]}"})"
  printf "from start (startup and group join included): ratio %s (median of %d)\n" \
    "$(summary_ratio "$ROUNDS" ${total_ratios[@]+"${total_ratios[@]}"})" "$ROUNDS"
  printf "peak RSS (medians): replicator %d KB, plain %d KB\n" "$(median "${repl_rss[@]}")" "$(median "${plain_rss[@]}")"
  exit 0
fi
printf "throughput ratio replicator/plain (median of %d, round trip %d ms): unmeasured (goal >= 0.9)\n" "$ROUNDS" "$RTT_MS"
printf "median throughput: plain %s msg/s\n" "$(median_rate plain)"
printf "peak RSS (medians): plain %d KB\n" "$(median "${plain_rss[@]}")"
echo "replicate_bench: \`chaperone replicate\` is not in this build ($BIN has no replicate subcommand);" \
  "only the baseline ran"
exit 77
