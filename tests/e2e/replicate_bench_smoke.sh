#!/usr/bin/env bash
# bench/replicate_bench.sh, the evidence for the replicator's throughput and
# memory figures (docs/performance.md), runs end to end at a small scale with
# the real binaries, kcat and two mock clusters (the destination's with a
# round trip, so --rtt-ms is exercised), and prints every summary line. The
# figures themselves are not judged (no timing assertions): their presence and
# form are, and bad arguments are refused before anything starts. A round
# faster than the stopwatch's resolution is a valid outcome: its rate is a lower
# bound (">N") and the ratio leaves it out (tests/unit/bench_math_test.sh).
# Without `chaperone replicate` in the build the script runs the baseline alone
# and exits 77; so does this test, after checking the baseline's rows.
set -euo pipefail
BUILD=${CHAPERONE_BUILD_DIR:?CHAPERONE_BUILD_DIR must point at the build folder}
SRC=${CHAPERONE_SOURCE_DIR:?CHAPERONE_SOURCE_DIR must point at the source folder}
for tool in plain_copy_tool copy_watch_tool; do
  [[ -x $BUILD/bin/$tool ]] || { echo "SKIP: $tool not built (CHAPERONE_BENCH=OFF)"; exit 77; }
done
command -v kcat >/dev/null || { echo "SKIP: kcat not installed"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$SRC/bench/bench_math.sh"  # row_pattern

# ENV|ARGUMENTS|what stderr must say; each exits 2 before starting anything.
for bad in "|--messages 0|--messages is a positive count" "|--rtt-ms -5|--rtt-ms is from 0 to 60000" \
  "|--partitions|--partitions needs a value" "|--bogus|unknown argument '--bogus'" \
  "PRODUCER=linger.ms||take key=value pairs" "BASELINE_MALLOC=tc||BASELINE_MALLOC is same or system"; do
  IFS='|' read -r env_kv args want <<<"$bad"
  rc=0
  # shellcheck disable=SC2086
  env $env_kv bash "$SRC/bench/replicate_bench.sh" --build "$BUILD" $args >"$dir/out" 2>"$dir/err" || rc=$?
  [[ $rc -eq 2 ]] || fail "$env_kv $args: exit $rc, want 2"
  grep -q -- "$want" "$dir/err" || fail "$env_kv $args: '$(cat "$dir/err")' lacks '$want'"
  [[ ! -s $dir/out ]] || fail "$env_kv $args: started anyway: $(cat "$dir/out")"
done

rc=0
bash "$SRC/bench/replicate_bench.sh" --build "$BUILD" --messages 2000 --partitions 4 --rounds 1 --rtt-ms 5 \
  >"$dir/out" 2>&1 || rc=$?
cat "$dir/out"
[[ $rc -eq 0 || $rc -eq 77 ]] || fail "the benchmark failed (exit $rc)"
expect() { grep -Eq -- "$1" "$dir/out" || fail "no line matching '$1'"; }
expect '^machine: .+, [0-9]+ CPUs, load average [0-9.]+ [0-9.]+ [0-9.]+'
expect "$(row_pattern plain 2000)"
expect '^median throughput: (replicator ([1-9][0-9]*|unmeasured) msg/s, )?plain ([1-9][0-9]*|unmeasured) msg/s$'
expect '^peak RSS \(medians\): (replicator [1-9][0-9]* KB, )?plain [1-9][0-9]* KB$'
if [[ $rc -eq 77 ]]; then
  expect '^throughput ratio replicator/plain \(median of 1, round trip 5 ms\): unmeasured \(goal >= 0\.9\)$'
  expect 'chaperone replicate` is not in this build'
  echo "SKIP: chaperone replicate is not in this build; the baseline ran"
  exit 77
fi
expect "$(row_pattern replicator 2000)"
expect '^throughput ratio replicator/plain \(median of 1, round trip 5 ms\): ([0-9]+\.[0-9]{3}|unmeasured).* \(goal >= 0\.9\)$'
echo "replicate_bench_smoke: ok"
