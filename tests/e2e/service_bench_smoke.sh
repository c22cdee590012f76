#!/usr/bin/env bash
# bench/service_bench.sh, the evidence for the audit service's throughput and
# memory figures (docs/performance.md), runs end to end at a small scale with
# the real binaries, kcat and the mock broker, and prints every summary line.
# The figures themselves are not judged here (no timing assertions): their
# presence and form are, and bad settings are refused before anything starts.
# A round faster than the stopwatch's resolution is a valid outcome: its rate
# is a lower bound (">N") and the ratio leaves it out (tests/unit/bench_math_test.sh).
set -euo pipefail
BUILD=${CHAPERONE_BUILD_DIR:?CHAPERONE_BUILD_DIR must point at the build folder}
SRC=${CHAPERONE_SOURCE_DIR:?CHAPERONE_SOURCE_DIR must point at the source folder}
for tool in plain_consumer_tool service_watch_tool; do
  [[ -x $BUILD/bin/$tool ]] || { echo "SKIP: $tool not built (CHAPERONE_BENCH=OFF)"; exit 77; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$SRC/bench/bench_math.sh"  # row_pattern

for bad in "BATCH_BYTES=0:BATCH_BYTES is a byte count" "BIG_BATCHES=yes:BIG_BATCHES is 0 or 1" \
  "CONSUMER=fetch.max.bytes:take key=value pairs"; do
  rc=0
  env "${bad%%:*}" bash "$SRC/bench/service_bench.sh" "$BUILD" >"$dir/out" 2>"$dir/err" || rc=$?
  [[ $rc -eq 2 ]] || fail "${bad%%:*}: exit $rc, want 2"
  grep -q -- "${bad#*:}" "$dir/err" || fail "${bad%%:*}: '$(cat "$dir/err")' lacks '${bad#*:}'"
  [[ ! -s $dir/out ]] || fail "${bad%%:*}: started anyway: $(cat "$dir/out")"
done

MESSAGES=20000 SMALL=4000 ROUNDS=1 bash "$SRC/bench/service_bench.sh" "$BUILD" >"$dir/out" 2>&1 ||
  fail "the benchmark failed: $(cat "$dir/out")"
cat "$dir/out"
expect() { grep -Eq -- "$1" "$dir/out" || fail "no line matching '$1'"; }
# One row per consumer and topic, each with a positive rate (or lower bound) and peak RSS.
for row in plain:20000 service:20000 plain:4000 service:4000 plain-1MB:20000 svc-1MB:20000; do
  expect "$(row_pattern "${row%%:*}" "${row#*:}")"
done
expect '^throughput ratio service/plain \(median of 1, batches of up to 65536 bytes\): ([0-9]+\.[0-9]{3}|unmeasured) '
expect '^service peak RSS \(medians\): [1-9][0-9]* KB auditing 20000 messages, [1-9][0-9]* KB auditing 4000 '
expect '^1 MB batches: throughput ratio ([0-9]+\.[0-9]{3}|unmeasured) \(median of 1\); service peak RSS [1-9][0-9]* KB'
echo "service_bench_smoke: ok"
