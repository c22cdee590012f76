#!/usr/bin/env bash
# The arithmetic of bench/service_bench.sh's report (bench/bench_math.sh) on
# durations the stopwatch cannot resolve: a 0 s round gets a lower bound, its
# row still matches what tests/e2e/service_bench_smoke.sh expects, the ratio
# leaves it out, and nothing divides by zero or writes to stderr.
set -euo pipefail
SRC=${CHAPERONE_SOURCE_DIR:?CHAPERONE_SOURCE_DIR must point at the source folder}
source "$SRC/bench/bench_math.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
# check NAME WANT COMMAND...: COMMAND prints WANT, exits 0 and writes nothing to stderr.
check() {
  local name=$1 want=$2 got rc=0
  shift 2
  got=$("$@" 2>"$dir/err") || rc=$?
  if [[ $rc -ne 0 || $got != "$want" || -s $dir/err ]]; then
    echo "FAIL: $name: got '$got' (exit $rc, stderr '$(cat "$dir/err")'), want '$want'" >&2
    failures=$((failures + 1))
  fi
}

check "rate of a timed round" 8000 rate 4000 0.5 0.005
check "rate of a 0 s round is a lower bound" ">800000" rate 4000 0.0000 0.005
check "rate of a 0 s plain round" ">4000000000" rate 4000 0.000000 0.000001
rc=0
rate 4000 0 0 >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || { echo "FAIL: a 0 s round without a resolution: exit $rc, want 2" >&2; failures=$((failures + 1)); }

# The service's 4000-message round of the smoke test, measured as 0 s.
zero_row="1      service        4000        0.000        >769231        51234   (below the timer's resolution of 0.0052 s)   (peak 50000 KB before the last flush)"
check "the 0 s row" "$zero_row" row 1 service 4000 0.0000 0.0052 51234 "   (peak 50000 KB before the last flush)"
grep -Eq -- "$(row_pattern service 4000)" <<<"$zero_row" ||
  { echo "FAIL: the 0 s row does not match the smoke test's pattern" >&2; failures=$((failures + 1)); }
check "a timed row" "1      plain         20000        0.250          80000        40000" \
  row 1 plain 20000 0.250000 0.000001 40000
check "a row of a few ticks" "1      svc-1MB       20000        0.006        3333333        23276   (timed to +-0.0054 s)" \
  row 1 svc-1MB 20000 0.0060 0.0054 23276

check "ratio of timed rounds" 0.500000 ratio 1 2
check "no ratio when the service's round was 0 s" "" ratio 0.25 0.0000
check "no ratio when the plain round was 0 s" "" ratio 0.000000 0.25
check "summary of timed rounds" 1.000 summary_ratio 3 0.9 1.0 1.1
check "summary leaves untimed rounds out" "0.950 (1 of 3 rounds faster than the timer's resolution left out)" \
  summary_ratio 3 0.9 1.0
check "summary when no round was timed" "unmeasured (every round faster than the timer's resolution)" summary_ratio 1
check "median of none" "" median
check "growth" "+10.0 %" growth 110 100
check "growth from 0" "n/a" growth 110 0

((failures == 0)) || exit 1
echo "bench_math_test: ok"
