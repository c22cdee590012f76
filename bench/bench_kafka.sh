# shellcheck shell=bash
# shellcheck disable=SC2034  # allocator, baseline_env, work, pids, MOCK_PID, MOCK_BS: set for the caller
# What the Kafka-level benchmark scripts (bench/service_bench.sh,
# bench/replicate_bench.sh) share besides their arithmetic (bench_math.sh):
#
#   baseline_allocator NAME BIN → sets `allocator` (BIN's, from --version) and
#       `baseline_env` (env assignments that give a baseline program BIN's
#       allocator and settings, preloaded), as BASELINE_MALLOC asks: same
#       (default) or system (the C library's malloc; baseline_env empty).
#       Exits 2 with "NAME: ..." on a bad value or an allocator it cannot preload.
#   gen_messages N SIZE → N lines KEY|VALUE: keys u0..u99999, JSON values of
#       SIZE bytes with "ts" first, event times spread over one hour.
#   bench_workdir NAME → sets `work` (a fresh folder) and `pids` (processes to
#       kill at exit); at exit kills them and removes the folder, or keeps it
#       when KEEP_LOGS is set.
#   machine → one line: CPU model, CPUs, load average, RAM.
#   start_mock NAME [ARGS...] → starts `$BIN mock-kafka --brokers 1 ARGS...`
#       (after bench_workdir), sets MOCK_PID and MOCK_BS (its bootstrap);
#       stop_mock PID stops one.

baseline_allocator() {
  local name=$1 bin=$2 lib conf
  baseline_env=()
  allocator=$("$bin" --version | sed -n 's/^allocator: //p')
  case "${BASELINE_MALLOC:-same}" in
    same)
      if [[ $allocator == jemalloc* ]]; then
        lib=$(ldd "$bin" | awk '/libjemalloc/ {print $3}')
        conf=$(sed -n 's/.*(\(.*\))$/\1/p' <<<"$allocator")
        [[ -f $lib && -n $conf ]] || { echo "$name: cannot preload chaperone's allocator ($allocator)" >&2; exit 2; }
        baseline_env=(LD_PRELOAD="$lib" MALLOC_CONF="$conf")
      fi ;;
    system) allocator="system malloc (chaperone: $allocator)" ;;
    *) echo "$name: BASELINE_MALLOC is same or system, got '$BASELINE_MALLOC'" >&2; exit 2 ;;
  esac
}

gen_messages() {
  awk -v n="$1" -v size="$2" 'BEGIN {
    pad = sprintf("%*s", size, ""); gsub(/ /, "x", pad);
    for (i = 0; i < n; i++) {
      v = sprintf("{\"ts\":%.0f,\"id\":%d,\"kind\":\"order\",\"pad\":\"", 1700000000000 + int((i * 3600000) / n), i);
      v = v substr(pad, 1, size - length(v) - 2) "\"}";
      printf "u%d|%s\n", i % 100000, v;
    }
  }'
}

bench_workdir() {
  BENCH_NAME=$1
  work=$(mktemp -d "/tmp/chaperone-$1-XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n ${KEEP_LOGS:-} ]]; then echo "$BENCH_NAME: logs kept in $work" >&2; else rm -rf "$work"; fi
}

machine() {
  printf "machine: %s, %s CPUs, load average %s, %s MB RAM\n" \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$(awk '/^MemTotal/ {printf "%d", $2 / 1024}' /proc/meminfo)"
}

start_mock() {
  local name=$1
  shift
  rm -f "$work/$name.bootstrap"
  "$BIN" mock-kafka --brokers 1 --bootstrap-file "$work/$name.bootstrap" "$@" >"$work/$name.mock.log" 2>&1 &
  MOCK_PID=$!
  pids+=("$MOCK_PID")
  for _ in $(seq 300); do [[ -s $work/$name.bootstrap ]] && break; sleep 0.05; done
  [[ -s $work/$name.bootstrap ]] || { echo "$BENCH_NAME: mock-kafka did not start: $(cat "$work/$name.mock.log")" >&2; exit 1; }
  MOCK_BS=$(cat "$work/$name.bootstrap")
}
stop_mock() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
