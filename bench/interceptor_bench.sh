#!/usr/bin/env bash
# Throughput of a plain librdkafka producer with and without
# libchaperone-interceptor.so, against `chaperone mock-kafka`.
#
#   bench/interceptor_bench.sh [RUNS] [MESSAGES] [SIZE]     (defaults 7, 1000000, 200)
#
# Runs alternate (plain, plugin, plain, plugin ...) so that drift in the
# machine's load hits both sides alike; prints every run, the median
# throughput of each side, their ratio, and the median of the per-pair
# ratios. Afterwards it checks that the audit records account for every
# message the plugin runs produced (nothing dropped while going fast).
# Environment: BUILD (default ./build), EXTRA_PLUGIN_PROPS (e.g.
# "-X chaperone.queue.capacity=262144").
set -euo pipefail

RUNS=${1:-7}
N=${2:-1000000}
SIZE=${3:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
PRODUCER=$BUILD/bin/interceptor_producer
PLUGIN=$BUILD/lib/libchaperone-interceptor.so
for f in "$BUILD/bin/chaperone" "$PRODUCER" "$PLUGIN"; do
  [ -e "$f" ] || { echo "missing $f: build first (cmake --build $BUILD)"; exit 1; }
done

WORK=$(mktemp -d)
MOCK_PID=
cleanup() {
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BUILD/bin/chaperone" mock-kafka --topic bench:4 --topic chaperone-audit:1 --bootstrap-file "$WORK/bootstrap" \
  >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
for _ in $(seq 300); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
B=$(cat "$WORK/bootstrap")

run() {  # plain|plugin -> "msgs/s cpu-ns-per-message" (CPU: user + sys of the producer process)
  local extra=()
  if [ "$1" = plugin ]; then
    # shellcheck disable=SC2206
    extra=(-X "plugin.library.paths=$PLUGIN" -X chaperone.flush.interval.ms=1000 ${EXTRA_PLUGIN_PROPS:-})
  fi
  /usr/bin/time -f "cpu=%U+%S" -o "$WORK/time" "$PRODUCER" -b "$B" -t bench -n "$N" -s "$SIZE" "${extra[@]}" >"$WORK/out"
  local rate cpu
  rate=$(sed -n 's/.*msgs_per_sec=\([0-9]*\).*/\1/p' "$WORK/out")
  cpu=$(sed -n 's/^cpu=//p' "$WORK/time")
  echo "$rate $(awk -v c="$cpu" -v n="$N" 'BEGIN {split(c, a, "+"); printf "%.0f", (a[1] + a[2]) * 1e9 / n}')"
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "interceptor benchmark: $RUNS pairs of runs, $N messages of $SIZE bytes, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
run plain >/dev/null  # warm-up: topic metadata, page cache
: >"$WORK/plain"
: >"$WORK/plugin"
: >"$WORK/ratios"
: >"$WORK/cpu_plain"
: >"$WORK/cpu_plugin"
for i in $(seq "$RUNS"); do
  read -r a ca < <(run plain)
  read -r b cb < <(run plugin)
  echo "$a" >>"$WORK/plain"
  echo "$b" >>"$WORK/plugin"
  echo "$ca" >>"$WORK/cpu_plain"
  echo "$cb" >>"$WORK/cpu_plugin"
  awk -v a="$a" -v b="$b" 'BEGIN {printf "%.4f\n", b / a}' >>"$WORK/ratios"
  printf 'pair %2d: plain %9d msg/s %5d CPU ns/msg   plugin %9d msg/s %5d CPU ns/msg   ratio %s\n' \
    "$i" "$a" "$ca" "$b" "$cb" "$(tail -1 "$WORK/ratios")"
done
mp=$(median <"$WORK/plain")
mi=$(median <"$WORK/plugin")
printf 'median: plain %.0f msg/s, plugin %.0f msg/s, ratio of medians %.4f, median of pair ratios %.4f\n' \
  "$mp" "$mi" "$(awk -v a="$mp" -v b="$mi" 'BEGIN {print b / a}')" "$(median <"$WORK/ratios")"
printf 'median CPU per message (producer process, user + sys): plain %.0f ns, plugin %.0f ns\n' \
  "$(median <"$WORK/cpu_plain")" "$(median <"$WORK/cpu_plugin")"

# Every message of the plugin runs must be in the audit records.
sleep 2
kcat -C -b "$B" -t chaperone-audit -o beginning -e -q 2>/dev/null >"$WORK/audit.jsonl" || true
if [ -s "$WORK/audit.jsonl" ]; then
  counted=$(jq -s '[unique_by(.uuid)[] | select(.kind == "count" and .topicName == "bench") | .count] | add // 0' "$WORK/audit.jsonl")
  dropped=$(jq -s '[.[] | select(.kind == "heartbeat") | (.droppedObservations // 0)] | max // 0' "$WORK/audit.jsonl")
  echo "audit: $counted messages counted of $((RUNS * N)) produced through the plugin; droppedObservations (max per client) $dropped"
fi
