# Sourced by the browser scripts (which define fail): waits until a server
# started in the background has logged its URL and answers /health.
#   wait_server_url LOG SED_PATTERN PID NAME SECONDS
# SED_PATTERN's \1 is the URL in a line of LOG; sets $url. Fails (showing the
# log) when PID exits or SECONDS pass first.
wait_server_url() {
  local log=$1 pattern=$2 pid=$3 name=$4 seconds=$5
  url=""
  for _ in $(seq 1 $((seconds * 10))); do
    url=$(sed -n "s|$pattern|\\1|p" "$log" | head -1)
    [[ -n $url ]] && curl -sf "$url/health" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$name exited"; }
    sleep 0.1
  done
  cat "$log" >&2
  fail "$name did not answer /health within $seconds s"
}
