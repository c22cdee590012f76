# Sourced by the interceptor's end-to-end scripts: a work folder removed at
# exit, check helpers, and `chaperone mock-kafka` started with the given
# topics (its bootstrap servers in $B, stopped at exit).
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chaperone-e2e-${E2E_NAME:-test}.XXXXXX")
MOCK_PID=
cleanup() {
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
check_eq() {  # what expected actual
  if [ "$2" != "$3" ]; then fail "$1: expected $2, got $3"; fi
  echo "ok: $1 = $3"
}

start_mock_kafka() {  # --topic name:partitions ...
  "$BIN" mock-kafka "$@" --bootstrap-file "$WORK/bootstrap" >"$WORK/mock.log" 2>&1 &
  MOCK_PID=$!
  for _ in $(seq 300); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
  [ -s "$WORK/bootstrap" ] || fail "mock-kafka did not start: $(cat "$WORK/mock.log")"
  B=$(cat "$WORK/bootstrap")
}
