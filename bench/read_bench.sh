#!/usr/bin/env bash
# Event-time reads and window diffs (issue 18): `chaperone read` and
# `chaperone diff` against plain librdkafka consumers of the same offset
# spans (bench/plain_span_consume_tool.cc), on `chaperone mock-kafka`
# clusters filled by chaperone-test-read-fixture, in one run, alternating.
#
#   bench/read_bench.sh [BUILD_DIR]        (default: build)
#   env: ROUNDS (5): rounds of each alternating comparison,
#        MESSAGES (480000), PARTITIONS (96): the interleaved topic,
#        DIFF_MESSAGES (1000000), DIFF_PARTITIONS (64): the diffed window,
#        SMALL_BUDGET (16MiB): the diff's budget that forces spilling,
#        RTT_MS (5): the round trip of the cluster the start-up is measured on
#          a second time,
#        KEEP_LOGS (set: keep the work folder with the store and every log).
#
# Data: topic `ev`, MESSAGES JSON messages (values of 300-1000 B drawn
# uniformly, keys "k-<id>") with event times over 10 windows of 60 s, 10 % of
# them arriving up to 2 windows late (so each partition interleaves windows),
# spread over PARTITIONS partitions of one mock cluster (which keeps only
# about 5 MiB a partition: the default is ~3.5 MB each), with the regional
# tier's audit in a SQLite store. The range read is windows 4-6: three whole
# windows in the middle. The audit's spans of those windows (per partition:
# the first and last offset of each window's messages) come from the store's
# `partitions` table.
#
# 1. Bytes fetched (goal: read <= 1.2 x the matching messages' key + value
#    bytes): `read --measure-fetch` (librdkafka statistics: the brokers'
#    rxbytes) against the matching bytes it reports; beside it the key +
#    value bytes inside the spans (what the audit's spans make a read fetch
#    at the least), a plain consumer of the same spans, and a full scan (a
#    plain consumer of the whole topic that filters by the "ts" field). Then
#    the same without late data (a second topic, --late-percent 0): the
#    reader's own overhead over its spans, without late data stretching them.
# 2. Throughput (goal: read >= 0.8 x a plain consume of the same spans): the
#    wall time of `read` (json, and raw; output to /dev/null) and of the
#    plain consumer, each a whole process (start-up included), alternating;
#    msg/s = the messages inside the spans over that time. CPU seconds and
#    peak RSS beside them. For windows 4-6, then for the whole topic; between
#    them the start-up alone (`read --limit 1`, of every partition and of
#    one, against a plain consumer of one message), again on a cluster whose
#    broker answers after RTT_MS (mock-kafka --rtt-ms; 20,000 messages).
# 3. Diff: one window of DIFF_MESSAGES ~110 B messages over DIFF_PARTITIONS
#    partitions, the regional and the aggregate tier each in its own
#    mock-kafka process, 100 messages dropped and 100 duplicated in the
#    aggregate copy; wall seconds and peak RSS (wait4) of `chaperone diff`
#    with the default memory budget and with SMALL_BUDGET, beside the time
#    two plain consumers take to read both tiers' spans.
#
# The plain consumer keeps librdkafka's defaults (64 MB prefetch queue);
# `read` sizes its prefetch from the spans' bytes.
#
# Prints the machine with every summary. Exit 0 when every figure was
# measured (a missed goal is reported, not an error), 1 when a run failed,
# 2 on bad arguments or a missing program.
set -euo pipefail
export LC_ALL=C
# median, ratio: bench_math.sh.
# shellcheck source=bench_math.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_math.sh"
# bench_workdir, machine, start_mock, stop_mock: bench_kafka.sh.
# shellcheck source=bench_kafka.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_kafka.sh"

die() { echo "read_bench: $*" >&2; exit 2; }
case ${1:-} in -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
(($# <= 1)) || die "usage: bench/read_bench.sh [BUILD_DIR] (see --help)"
BUILD=${1:-build}
ROUNDS=${ROUNDS:-5}
MESSAGES=${MESSAGES:-480000}
PARTITIONS=${PARTITIONS:-96}
DIFF_MESSAGES=${DIFF_MESSAGES:-1000000}
DIFF_PARTITIONS=${DIFF_PARTITIONS:-64}
SMALL_BUDGET=${SMALL_BUDGET:-16MiB}
RTT_MS=${RTT_MS:-5}
[[ $RTT_MS =~ ^[0-9]+$ ]] && ((RTT_MS <= 1000)) || die "RTT_MS is from 0 to 1000, got '$RTT_MS'"
for v in ROUNDS MESSAGES PARTITIONS DIFF_MESSAGES DIFF_PARTITIONS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v is a positive count, got '${!v}'"
done
((DIFF_MESSAGES > 200)) || die "DIFF_MESSAGES must exceed the 200 dropped and duplicated messages"

BIN=$BUILD/bin/chaperone
FIXTURE=$BUILD/bin/chaperone-test-read-fixture
PLAIN=$BUILD/bin/plain_span_consume_tool
for f in "$BIN" "$FIXTURE" "$PLAIN"; do
  [[ -x $f ]] || die "$f not built (targets chaperone, chaperone-test-read-fixture, plain_span_consume_tool)"
done
for c in sqlite3 /usr/bin/time; do command -v "$c" >/dev/null || die "$c is required"; done

bench_workdir read-bench
STEP=0
step() { STEP=$((STEP + 1)); echo; echo "== [$STEP/8] $* ($(cut -d' ' -f1 /proc/loadavg) load, $SECONDS s in)"; }

WINDOW=60
START=1700000040 # a window boundary
FROM=$((START + 3 * WINDOW))
TO=$((START + 6 * WINDOW))

# fill NAME TOPIC PARTITIONS FIXTURE_ARGS... → a mock cluster holding TOPIC, its
# audit in $work/NAME.db; sets BS (its bootstrap) and FILL_PID.
fill() {
  local name=$1 topic=$2 partitions=$3
  shift 3
  start_mock "$name" --topic "$topic:$partitions"
  BS=$MOCK_BS
  FILL_PID=$MOCK_PID
  "$FIXTURE" --store "sqlite:$work/$name.db" --topic "$topic" --regional "$BS" --partitions "$partitions" \
    --window-sec "$WINDOW" --start-sec "$START" "$@" >"$work/$name.fixture.json" ||
    { echo "read_bench: chaperone-test-read-fixture failed" >&2; exit 1; }
}

# spans DB TOPIC TIER FROM_SEC TO_SEC → "PARTITION FIRST LAST" lines: the
# audit's spans of the windows that begin in [FROM_SEC, TO_SEC).
spans() {
  sqlite3 -separator ' ' "$1" "SELECT partition_id, first_offset, last_offset FROM partitions
    WHERE topic = '$2' AND tier = '$3' AND window_begin_sec >= $4 AND window_begin_sec < $5 AND first_offset >= 0"
}

# timed NAME CMD... → "WALL_S CPU_S PEAK_RSS_KB EXIT"; the command's stderr in
# $work/NAME.err, its stdout in $work/NAME.out, or in /dev/null for chaperone
# itself (the messages and diff items it prints).
timed() {
  local name=$1 s e rc=0 out
  shift
  out=$work/$name.out
  [[ $1 == "$BIN" ]] && out=/dev/null
  s=$EPOCHREALTIME
  /usr/bin/time -o "$work/$name.time" -f "%U %S %M" "$@" >"$out" 2>"$work/$name.err" || rc=$?
  e=$EPOCHREALTIME
  tail -1 "$work/$name.time" | awk -v s="$s" -v e="$e" -v rc="$rc" '{ printf "%.6f %.2f %d %d\n", e - s, $1 + $2, $3, rc }'
}

# field WORD FILE → the number after the last "WORD" in FILE (the plain tool's
# "key value" pairs).
field() { awk -v k="$1" '{ for (i = 1; i < NF; ++i) if ($i == k) v = $(i + 1) } END { print v }' "$2"; }

# read_figures ERR → "IN_SPANS HANDED FETCHED MATCHING_BYTES COMPLETE" from `chaperone read`'s stderr
read_figures() {
  awk '
    /audited messages read,/ { inspans = $2 }
    / spans match the audit/ { handed = $2; for (i = 1; i <= NF; ++i) if ($i == "of" && $(i + 2) == "spans") complete = ($(i - 1) == $(i + 1)) }
    /^read: fetched / { fetched = $3; matching = $9 }
    END { printf "%s %s %s %s %s\n", inspans, handed, (fetched == "" ? -1 : fetched), (matching == "" ? -1 : matching), complete + 0 }
  ' "$1"
}

# check_read NAME EXIT [limited]: the read finished and every span matched the
# audit (or, with "limited", it stopped at --limit)
check_read() {
  local figures ok=1
  figures=$(read_figures "$work/$1.err")
  if [[ ${3:-} == limited ]]; then grep -q "(stopped at --limit)" "$work/$1.err" || ok=0
  elif [[ ${figures##* } != 1 ]]; then ok=0; fi
  if (($2 != 0 || !ok)); then
    cp "$work/$1.err" /tmp/read_bench_"$1".log
    echo "read_bench: $1 failed (exit $2; log /tmp/read_bench_$1.log):" >&2
    tail -5 "$work/$1.err" >&2
    exit 1
  fi
}
check_plain() { # check_plain NAME EXIT
  if (($2 != 0)); then
    echo "read_bench: $1 failed (exit $2): $(tail -3 "$work/$1.err")" >&2
    exit 1
  fi
}

x() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.3f", a / b; else print "n/a" }'; }
mb() { awk -v a="$1" 'BEGIN { printf "%.1f MB", a / 1e6 }'; }
verdict() { awk -v v="$1" -v goal="$2" -v op="$3" 'BEGIN { ok = (op == "<=") ? v <= goal : v >= goal; print ok ? "met" : "NOT met" }'; }

echo "read_bench: interleaved topic: $MESSAGES messages of 300-1000 B over $PARTITIONS partitions, 10 windows" \
  "of ${WINDOW} s, 10 % up to 2 windows late; range: windows 4-6; $ROUNDS rounds"
echo "read_bench: diff: $DIFF_MESSAGES messages of ~110 B over $DIFF_PARTITIONS partitions in one window;" \
  "budgets: default and $SMALL_BUDGET"
machine

# ---------------------------------------------------------------------------
step "filling the interleaved topic"
fill interleaved ev "$PARTITIONS" --messages "$MESSAGES" --windows 10 --late-windows 2 --late-percent 10 \
  --value-bytes 300 --value-bytes-max 1000
spans "$work/interleaved.db" ev regional "$FROM" "$TO" >"$work/interleaved.spans"
echo "read_bench: $(wc -l <"$work/interleaved.spans") spans of windows 4-6 in the audit; cluster at $BS"
READ=("$BIN" read --store "sqlite:$work/interleaved.db" --cluster-bootstrap "regional=$BS" --topic ev
  --from "$FROM" --to "$TO")

# ---------------------------------------------------------------------------
step "bytes fetched: read --measure-fetch, a plain consumer of the spans, a full scan"
printf "%-6s %-22s %12s %16s %10s\n" round reader "fetched MB" "fetched/matching" seconds
read_fetched=() plain_fetched=() scan_fetched=()
matching_bytes=0 in_span_bytes=0 in_span=0 scan_secs=() read_secs=()
for r in $(seq "$ROUNDS"); do
  read -r secs _ _ rc < <(timed fetch-read "${READ[@]}" --measure-fetch)
  check_read fetch-read "$rc"
  read -r in_span handed fetched matching_bytes _ <<<"$(read_figures "$work/fetch-read.err")"
  read_fetched+=("$fetched") read_secs+=("$secs")
  printf "%-6s %-22s %12.1f %16s %10.3f\n" "$r" "read" "$(x "$fetched" 1e6)" "$(x "$fetched" "$matching_bytes")" "$secs"

  read -r secs _ _ rc < <(timed fetch-plain "$PLAIN" "$BS" ev "$work/interleaved.spans" --stats)
  check_plain fetch-plain "$rc"
  fetched=$(field fetched_bytes "$work/fetch-plain.out")
  in_span_bytes=$(field bytes "$work/fetch-plain.out")
  [[ $(field messages "$work/fetch-plain.out") == "$in_span" ]] ||
    { echo "read_bench: the plain consumer read $(field messages "$work/fetch-plain.out") messages in the spans, read $in_span" >&2; exit 1; }
  plain_fetched+=("$fetched")
  printf "%-6s %-22s %12.1f %16s %10.3f\n" "$r" "plain, same spans" "$(x "$fetched" 1e6)" \
    "$(x "$fetched" "$matching_bytes")" "$secs"

  read -r secs _ _ rc < <(timed fetch-scan "$PLAIN" "$BS" ev all --stats --filter-ts "${FROM}000" "${TO}000")
  check_plain fetch-scan "$rc"
  fetched=$(field fetched_bytes "$work/fetch-scan.out")
  if [[ $(field matching "$work/fetch-scan.out") != "$handed" || $(field matching_bytes "$work/fetch-scan.out") != "$matching_bytes" ]]; then
    echo "read_bench: the full scan matched $(field matching "$work/fetch-scan.out") messages, read handed $handed" >&2
    exit 1
  fi
  scan_fetched+=("$fetched") scan_secs+=("$secs")
  [[ $(field messages "$work/fetch-scan.out") == "$MESSAGES" ]] ||
    { echo "read_bench: the topic holds $(field messages "$work/fetch-scan.out") messages, not $MESSAGES" >&2; exit 1; }
  printf "%-6s %-22s %12.1f %16s %10.3f\n" "$r" "plain, full scan" "$(x "$fetched" 1e6)" \
    "$(x "$fetched" "$matching_bytes")" "$secs"
done
machine
rf=$(median "${read_fetched[@]}")
ratio1=$(x "$rf" "$matching_bytes")
echo "matching messages: $handed, $(mb "$matching_bytes") (key + value); inside the audit's spans: $in_span" \
  "messages, $(mb "$in_span_bytes") ($(x "$in_span_bytes" "$matching_bytes")x the matching bytes: late data" \
  "stretches each window's span)"
echo "fetched by read (median of $ROUNDS): $(mb "$rf") = $ratio1 x the matching bytes (goal <= 1.2:" \
  "$(verdict "$ratio1" 1.2 "<=")); $(x "$rf" "$in_span_bytes") x the bytes inside the spans"
echo "fetched by a plain consumer of the same spans: $(mb "$(median "${plain_fetched[@]}")")" \
  "($(x "$(median "${plain_fetched[@]}")" "$matching_bytes") x matching)"
echo "fetched by a full scan: $(mb "$(median "${scan_fetched[@]}")") ($(x "$(median "${scan_fetched[@]}")" "$matching_bytes")" \
  "x matching), $(printf %.3f "$(median "${scan_secs[@]}")") s against read's $(printf %.3f "$(median "${read_secs[@]}")") s (medians)"

# ---------------------------------------------------------------------------
# throughput LABEL FROM_SEC TO_SEC SPANS EXPECTED → rounds of plain, read json,
# read raw over the same spans; sets TP_JSON and TP_RAW (median ratios).
throughput() {
  local label=$1 from=$2 to=$3 spans_file=$4 expected=$5 r kind secs cpu rss rc n plain_secs=0
  local -a json_ratios=() raw_ratios=()
  local -A secs_of=() cpu_of=() rss_of=()
  printf "%-6s %-8s %9s %10s %10s %8s %12s\n" round reader messages seconds "msg/s" "CPU s" "peak RSS KB"
  for r in $(seq "$ROUNDS"); do
    for kind in plain json raw; do
      if [[ $kind == plain ]]; then
        read -r secs cpu rss rc < <(timed tp-plain "$PLAIN" "$BS" ev "$spans_file")
        check_plain tp-plain "$rc"
        n=$(field messages "$work/tp-plain.out")
      else
        read -r secs cpu rss rc < <(timed "tp-$kind" "$BIN" read --store "sqlite:$work/interleaved.db" \
          --cluster-bootstrap "regional=$BS" --topic ev --from "$from" --to "$to" --format "$kind")
        check_read "tp-$kind" "$rc"
        read -r n _ <<<"$(read_figures "$work/tp-$kind.err")"
      fi
      [[ $n == "$expected" ]] || { echo "read_bench: $kind read $n messages, not the $expected in the spans" >&2; exit 1; }
      secs_of[$kind]+=" $secs" cpu_of[$kind]+=" $cpu" rss_of[$kind]+=" $rss"
      printf "%-6s %-8s %9d %10.3f %10.0f %8.2f %12d\n" "$r" "$kind" "$n" "$secs" "$(x "$n" "$secs")" "$cpu" "$rss"
      case $kind in
        plain) plain_secs=$secs ;;
        json) json_ratios+=("$(ratio "$plain_secs" "$secs")") ;;
        raw) raw_ratios+=("$(ratio "$plain_secs" "$secs")") ;;
      esac
    done
  done
  machine
  for kind in plain json raw; do
    # shellcheck disable=SC2086 # word lists
    printf "%-5s median %8.0f msg/s, %.2f CPU s, peak RSS %d KB\n" "$kind" "$(x "$expected" "$(median ${secs_of[$kind]})")" \
      "$(median ${cpu_of[$kind]})" "$(median ${rss_of[$kind]})"
  done
  TP_JSON=$(median "${json_ratios[@]}")
  TP_RAW=$(median "${raw_ratios[@]}")
  echo "$label: throughput ratio read/plain (medians of $ROUNDS rounds): json $(printf %.3f "$TP_JSON")," \
    "raw $(printf %.3f "$TP_RAW") (goal >= 0.8: json $(verdict "$TP_JSON" 0.8 ">="), raw $(verdict "$TP_RAW" 0.8 ">="))"
  # shellcheck disable=SC2086 # word lists
  echo "$label: CPU seconds plain/read (medians): json $(x "$(median ${cpu_of[plain]})" "$(median ${cpu_of[json]})")," \
    "raw $(x "$(median ${cpu_of[plain]})" "$(median ${cpu_of[raw]})") (the client's own cost; the mock broker" \
    "serves one batch a partition a fetch and may bound both)"
}

step "throughput, windows 4-6: read (json, raw) against a plain consumer of the same spans"
throughput "windows 4-6" "$FROM" "$TO" "$work/interleaved.spans" "$in_span"

# startup LABEL DB BOOTSTRAP SPANS → what a run costs before its first message
# (the store, the watermark query of every partition, the consumer's
# connection): `read --limit 1` of windows 4-6, the same for one partition,
# and a plain consumer of one message.
startup() {
  local label=$1 bs=$3 spans_file=$4 r secs rc p
  local -a all=() one=() plain=() cmd=("$BIN" read --store "sqlite:$2" --cluster-bootstrap "regional=$3" --topic ev
    --from "$FROM" --to "$TO" --limit 1)
  read -r p _ <"$spans_file"
  head -1 "$spans_file" | awk '{ print $1, $2, $2 }' >"$work/one.span"
  for r in $(seq "$ROUNDS"); do
    read -r secs _ _ rc < <(timed start-read "${cmd[@]}")
    check_read start-read "$rc" limited
    all+=("$secs")
    read -r secs _ _ rc < <(timed start-read1 "${cmd[@]}" --partition "$p")
    check_read start-read1 "$rc" limited
    one+=("$secs")
    read -r secs _ _ rc < <(timed start-plain "$PLAIN" "$bs" ev "$work/one.span")
    check_plain start-plain "$rc"
    plain+=("$secs")
  done
  machine
  printf "start-up, %s (medians of %d): read --limit 1 %.3f s (%d partitions), the same for one partition %.3f s;" \
    "$label" "$ROUNDS" "$(median "${all[@]}")" "$(cut -d' ' -f1 "$spans_file" | sort -u | wc -l)" "$(median "${one[@]}")"
  printf " a plain consumer of one message %.3f s\n" "$(median "${plain[@]}")"
}
startup "round trip 0 ms" "$work/interleaved.db" "$BS" "$work/interleaved.spans"

step "throughput, the whole topic (10 windows): read (json, raw) against a plain consumer of the same spans"
spans "$work/interleaved.db" ev regional "$START" $((START + 10 * WINDOW)) >"$work/all.spans"
throughput "whole topic" "$START" $((START + 10 * WINDOW)) "$work/all.spans" "$MESSAGES"
stop_mock "$FILL_PID"

# ---------------------------------------------------------------------------
step "start-up at a round trip of $RTT_MS ms"
start_mock rtt --rtt-ms "$RTT_MS" --topic "ev:$PARTITIONS"
"$FIXTURE" --store "sqlite:$work/rtt.db" --topic ev --regional "$MOCK_BS" --partitions "$PARTITIONS" \
  --window-sec "$WINDOW" --start-sec "$START" --messages 20000 --windows 10 --late-windows 2 --late-percent 10 \
  --value-bytes 300 --value-bytes-max 1000 >"$work/rtt.fixture.json" ||
  { echo "read_bench: chaperone-test-read-fixture failed" >&2; exit 1; }
spans "$work/rtt.db" ev regional "$FROM" "$TO" >"$work/rtt.spans"
startup "round trip $RTT_MS ms" "$work/rtt.db" "$MOCK_BS" "$work/rtt.spans"
stop_mock "$MOCK_PID"

# ---------------------------------------------------------------------------
step "bytes fetched without late data"
fill ontime ev "$PARTITIONS" --messages "$MESSAGES" --windows 10 --late-percent 0 --value-bytes 300 --value-bytes-max 1000
ontime=()
for r in $(seq "$ROUNDS"); do
  read -r _ _ _ rc < <(timed ontime-read "$BIN" read --store "sqlite:$work/ontime.db" --cluster-bootstrap "regional=$BS" \
    --topic ev --from "$FROM" --to "$TO" --measure-fetch)
  check_read ontime-read "$rc"
  read -r ot_in_span ot_handed ot_fetched ot_matching _ <<<"$(read_figures "$work/ontime-read.err")"
  ontime+=("$ot_fetched")
done
machine
ratio1b=$(x "$(median "${ontime[@]}")" "$ot_matching")
echo "without late data: $ot_handed matching messages ($(mb "$ot_matching")), $ot_in_span inside the spans;" \
  "read fetched $(mb "$(median "${ontime[@]}")") (median of $ROUNDS) = $ratio1b x the matching bytes" \
  "(goal <= 1.2: $(verdict "$ratio1b" 1.2 "<="))"
stop_mock "$FILL_PID"

# ---------------------------------------------------------------------------
step "filling the diffed window: regional and aggregate clusters"
start_mock diff-regional --topic "dd:$DIFF_PARTITIONS"
REG=$MOCK_BS
start_mock diff-aggregate --topic "dd:$DIFF_PARTITIONS"
AGG=$MOCK_BS
"$FIXTURE" --store "sqlite:$work/diff.db" --topic dd --regional "$REG" --aggregate "$AGG" \
  --partitions "$DIFF_PARTITIONS" --messages "$DIFF_MESSAGES" --windows 1 --window-sec "$WINDOW" --start-sec "$START" \
  --late-percent 0 --value-bytes 100 --drop 100 --duplicate 100 >"$work/diff.fixture.json" ||
  { echo "read_bench: chaperone-test-read-fixture failed" >&2; exit 1; }
spans "$work/diff.db" dd regional "$START" $((START + WINDOW)) >"$work/diff-regional.spans"
spans "$work/diff.db" dd aggregate "$START" $((START + WINDOW)) >"$work/diff-aggregate.spans"
DIFF=("$BIN" diff --store "sqlite:$work/diff.db" --cluster-bootstrap "regional=$REG" --cluster-bootstrap "aggregate=$AGG"
  --topic dd --source regional --target aggregate --window "$START")

# ---------------------------------------------------------------------------
step "diff of $DIFF_MESSAGES messages: default budget, $SMALL_BUDGET, and plain reads of both tiers"
printf "%-6s %-22s %10s %8s %12s  %s\n" round run seconds "CPU s" "peak RSS KB" "found"
declare -A dsecs drss
for r in $(seq "$ROUNDS"); do
  for kind in default small plain; do
    if [[ $kind == plain ]]; then
      read -r s1 c1 m1 rc < <(timed diff-plain-reg "$PLAIN" "$REG" dd "$work/diff-regional.spans")
      check_plain diff-plain-reg "$rc"
      read -r s2 c2 m2 rc < <(timed diff-plain-agg "$PLAIN" "$AGG" dd "$work/diff-aggregate.spans")
      check_plain diff-plain-agg "$rc"
      secs=$(awk -v a="$s1" -v b="$s2" 'BEGIN { printf "%.6f", a + b }')
      cpu=$(awk -v a="$c1" -v b="$c2" 'BEGIN { printf "%.2f", a + b }')
      rss=$((m1 > m2 ? m1 : m2))
      found="$(($(field messages "$work/diff-plain-reg.out") + $(field messages "$work/diff-plain-agg.out"))) messages read"
      label="plain reads, 2 tiers"
    else
      budget=()
      label="diff, default budget"
      if [[ $kind == small ]]; then budget=(--memory-budget "$SMALL_BUDGET"); label="diff, $SMALL_BUDGET"; fi
      read -r secs cpu rss rc < <(timed "diff-$kind" "${DIFF[@]}" "${budget[@]}")
      # Exit 1: the tiers differ, as the fixture made them.
      if ((rc != 1)) || ! grep -q "^diff: 100 missing from aggregate, 100 duplicated there, 0 only there" "$work/diff-$kind.err"; then
        cp "$work/diff-$kind.err" /tmp/read_bench_diff.log
        echo "read_bench: diff ($kind) did not find the 100 dropped and 100 duplicated messages (exit $rc;" \
          "log /tmp/read_bench_diff.log)" >&2
        tail -3 "$work/diff-$kind.err" >&2
        exit 1
      fi
      found="100 missing, 100 duplicated$(sed -n 's/^diff: spilled \([0-9]*\) bytes in \([0-9]*\) runs.*/; spilled \1 B in \2 runs/p' "$work/diff-$kind.err")"
    fi
    dsecs[$kind]+=" $secs" drss[$kind]+=" $rss"
    printf "%-6s %-22s %10.3f %8.2f %12d  %s\n" "$r" "$label" "$secs" "$cpu" "$rss" "$found"
  done
done
machine
# shellcheck disable=SC2086 # word lists
{
  printf "diff of %d messages a tier (medians of %d): default budget %.3f s, peak RSS %d KB; %s budget %.3f s, peak RSS %d KB\n" \
    "$DIFF_MESSAGES" "$ROUNDS" "$(median ${dsecs[default]})" "$(median ${drss[default]})" "$SMALL_BUDGET" \
    "$(median ${dsecs[small]})" "$(median ${drss[small]})"
  printf "reading both tiers' spans with plain consumers: %.3f s (diff/plain time: %s default, %s %s)\n" \
    "$(median ${dsecs[plain]})" "$(x "$(median ${dsecs[default]})" "$(median ${dsecs[plain]})")" \
    "$(x "$(median ${dsecs[small]})" "$(median ${dsecs[plain]})")" "$SMALL_BUDGET"
}
echo
echo "read_bench: done in $SECONDS s"
