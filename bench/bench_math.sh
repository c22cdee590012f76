# shellcheck shell=bash
# The arithmetic of bench/service_bench.sh's report, sourced by it and checked
# alone by tests/unit/bench_math_test.sh. Nothing here divides by a duration
# that may be zero: a round faster than its stopwatch's resolution (TICK, in
# seconds) has no measured rate, only a lower bound, printed as ">N msg/s".
#
#   rate MESSAGES SECONDS TICK         → "N" (msg/s), or ">N" when SECONDS is 0
#   row ROUND CONSUMER MESSAGES SECONDS TICK RSS_KB [NOTE]
#                                      → one row of the per-round table
#   row_pattern CONSUMER MESSAGES      → an extended regex every such row matches
#   ratio PLAIN_SECONDS SERVICE_SECONDS → the service/plain throughput ratio, or
#                                        nothing when either round was too fast to time
#   median VALUE...                    → the median (nothing for no values)
#   growth NEW OLD                     → "+N.N %" from OLD to NEW, or "n/a" when OLD is 0
#   summary_ratio ROUNDS RATIO...      → the median ratio of the timed rounds, or "unmeasured"

# rate MESSAGES SECONDS TICK
rate() {
  awk -v n="$1" -v s="$2" -v tick="$3" 'BEGIN {
    if (s + 0 > 0) { printf "%.0f", n / s; exit 0 }
    if (tick + 0 <= 0) { print "bench_math: rate needs a positive timer resolution, got \"" tick "\"" > "/dev/stderr"; exit 2 }
    printf ">%.0f", n / tick
  }'
}

# row ROUND CONSUMER MESSAGES SECONDS TICK RSS_KB [NOTE]: a round shorter than
# ten ticks says how coarse its figure is.
row() {
  local r note=${7:-}
  r=$(rate "$3" "$4" "$5")
  if [[ $r == \>* ]]; then
    note="   (below the timer's resolution of $5 s)$note"
  elif awk -v s="$4" -v tick="$5" 'BEGIN { exit !(s < 10 * tick) }'; then
    note="   (timed to +-$5 s)$note"
  fi
  printf "%-6s %-9s %9d %12.3f %14s %12s%s\n" "$1" "$2" "$3" "$4" "$r" "$6" "$note"
}

# row_pattern CONSUMER MESSAGES: round, consumer, messages, seconds, a positive
# rate or lower bound, and a positive peak RSS.
row_pattern() {
  echo "^[0-9]+ +$1 +$2 +[0-9]+\.[0-9]{3} +>?[1-9][0-9]* +[1-9][0-9]*"
}

# ratio PLAIN_SECONDS SERVICE_SECONDS
ratio() {
  awk -v plain="$1" -v service="$2" 'BEGIN { if (plain + 0 > 0 && service + 0 > 0) printf "%.6f", plain / service }'
}

# median VALUE...
median() {
  (($# > 0)) || return 0
  printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'
}

# growth NEW OLD
growth() {
  awk -v new="$1" -v old="$2" 'BEGIN { if (old + 0 == 0) print "n/a"; else printf "%+.1f %%\n", (new - old) * 100 / old }'
}

# summary_ratio ROUNDS RATIO...: the median of the timed rounds' ratios ("M.MMM"),
# saying how many rounds were too fast to time, or "unmeasured" when none was timed.
summary_ratio() {
  local rounds=$1
  shift
  (($# > 0)) || { echo "unmeasured (every round faster than the timer's resolution)"; return 0; }
  local note=""
  (($# < rounds)) && note=" ($((rounds - $#)) of $rounds rounds faster than the timer's resolution left out)"
  printf "%.3f%s\n" "$(median "$@")" "$note"
}
