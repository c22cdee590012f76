#!/usr/bin/env bash
# A real Prometheus (the Debian package) scrapes every Chaperone component
# that serves /metrics, as deploy/prometheus/prometheus.yml has it: `chaperone
# service`, `collector`, `web` and `replicate`, started from one config file on
# two `chaperone mock-kafka` clusters (a source and a destination) and SQLite.
#  - every target is up, and one metric of each component is queried back;
#  - the shipped alerting rules (deploy/prometheus/chaperone-rules.yml) load
#    and are evaluated against the real metrics without an error;
#  - every query of the Grafana dashboard (deploy/grafana/chaperone.json) is
#    valid PromQL, and each one about a running component returns series.
set -euo pipefail
BIN=${CHAPERONE_BIN:?CHAPERONE_BIN must point at the chaperone binary}
SRC=${CHAPERONE_SOURCE_DIR:?CHAPERONE_SOURCE_DIR must point at the source folder}
command -v prometheus >/dev/null || { echo "SKIP: prometheus not installed (Debian package prometheus)"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/chaperone-e2e-prometheus.XXXXXX")
prom_pid=""
pids=()       # components, stopped before the clusters they talk to
mock_pids=()
stop() {  # PID...: SIGTERM, then SIGKILL for what is still there after 30 s
  local p
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
cleanup() {
  [[ -n $prom_pid ]] && stop "$prom_pid"
  ((${#pids[@]})) && stop "${pids[@]}"
  ((${#mock_pids[@]})) && stop "${mock_pids[@]}"
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "prometheus_scrape: FAIL: $*" >&2
  for log in "$work"/*.log; do echo "--- $(basename "$log")" >&2; tail -15 "$log" >&2; done
  exit 1
}

start_mock() {  # NAME --topic ...: its bootstrap servers in $work/NAME.bootstrap
  local name=$1
  shift
  "$BIN" mock-kafka "$@" --bootstrap-file "$work/$name.bootstrap" >"$work/mock-$name.log" 2>&1 &
  mock_pids+=($!)
  for _ in $(seq 300); do [[ -s $work/$name.bootstrap ]] && break; sleep 0.1; done
  [[ -s $work/$name.bootstrap ]] || fail "mock-kafka $name did not start"
}
start_mock src --topic orders:2 --topic chaperone-audit:1
start_mock dst --topic orders:2 --topic chaperone-audit:1 --topic chaperone-replicate-checkpoints:1

cat >"$work/chaperone.yaml" <<EOF
clusters:
  src: {bootstrap.servers: "$(cat "$work/src.bootstrap")"}
  dst: {bootstrap.servers: "$(cat "$work/dst.bootstrap")"}
store:
  url: sqlite:$work/audit.db
service:
  cluster: src
  tier: regional
  datacenter: dc1
  topics: {include: [orders]}
  flush_interval_ms: 1000
  listen: 127.0.0.1:0
collector:
  cluster: src
  listen: 127.0.0.1:0
web:
  listen: 127.0.0.1:0
replicate:
  source.cluster: src
  destination.cluster: dst
  topics.include: [orders]
  listen: 127.0.0.1:0
detect:
  listen: 127.0.0.1:0
  interval_sec: 1
EOF
"$BIN" store migrate --store "sqlite:$work/audit.db" >"$work/migrate.log" 2>&1 || fail "store migrate"

declare -A port
start() {  # COMPONENT: started from the config file; its port (0 picked one) read from its log
  local c=$1 p=""
  "$BIN" "$c" --config "$work/chaperone.yaml" >"$work/$c.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    p=$(grep -oE '(REST API on port |metrics on http://127\.0\.0\.1:|serving http://127\.0\.0\.1:)[0-9]+' "$work/$c.log" |
      grep -oE '[0-9]+$' | head -1) || true
    [[ -n $p ]] && break
    kill -0 "${pids[-1]}" 2>/dev/null || fail "chaperone $c exited early"
    sleep 0.1
  done
  [[ -n $p ]] || fail "chaperone $c logged no listen port within 30 s"
  port[$c]=$p
}
start service
start collector
start replicate
start web
start detect

# The components Prometheus scrapes, one line each: "JOB ADDRESS METRIC", the
# metric being one of that component's that the test queries back.
targets=(
  "chaperone-service 127.0.0.1:${port[service]} chaperone_service_assigned_partitions"
  "chaperone-collector 127.0.0.1:${port[collector]} chaperone_collector_store_up"
  "chaperone-web 127.0.0.1:${port[web]} chaperone_web_store_errors_total"
  "chaperone-replicate 127.0.0.1:${port[replicate]} chaperone_replicate_lag_total"
  "chaperone-detect 127.0.0.1:${port[detect]} chaperone_detect_cycles_total"
)

{
  echo "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}"
  echo "rule_files: [\"$SRC/deploy/prometheus/chaperone-rules.yml\"]"
  echo "scrape_configs:"
  for t in "${targets[@]}"; do
    read -r job addr _ <<<"$t"
    echo "  - job_name: $job"
    echo "    static_configs: [{targets: [\"$addr\"]}]"
  done
} >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml" >"$work/promtool.log" 2>&1 || fail "the generated configuration: $(cat "$work/promtool.log")"

# Prometheus on a free loopback port (picked, then bound by Prometheus: tried
# again on another one if something took it in between).
prom=""
for _ in 1 2 3; do
  p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$p" >"$work/prometheus.log" 2>&1 &
  prom_pid=$!
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$p/-/ready" >/dev/null 2>&1 && { prom="http://127.0.0.1:$p"; break; }
    kill -0 "$prom_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $prom ]] && break
  stop "$prom_pid"
  prom_pid=""
  grep -q "address already in use" "$work/prometheus.log" || fail "prometheus did not start"
done
[[ -n $prom ]] || fail "prometheus found no free port"
echo "prometheus_scrape: Prometheus at $prom scrapes ${#targets[@]} components"
curl -sf "http://127.0.0.1:${port[web]}/api/v1/topics" >/dev/null || fail "chaperone web does not answer"

# Everything else is asked of Prometheus's HTTP API, polling until it holds
# (60 s at most).
PROM=$prom TARGETS=$(printf '%s\n' "${targets[@]}") RULES="$SRC/deploy/prometheus/chaperone-rules.yml" \
  DASHBOARD="$SRC/deploy/grafana/chaperone.json" python3 - <<'PY' || fail "see above"
import json, os, re, sys, time, urllib.parse, urllib.request

prom = os.environ["PROM"]
targets = [line.split() for line in os.environ["TARGETS"].splitlines() if line.strip()]
jobs = {job for job, _, _ in targets}


def api(path, **params):
    url = f"{prom}/api/v1/{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 400 for a bad query: the body says why
        return json.load(e)


def until(what, check, timeout=60):
    """Polls check() (None when it holds, else why not) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        why = check()
        if why is None:
            print(f"prometheus_scrape: {what}")
            return
        if time.monotonic() > deadline:
            sys.exit(f"prometheus_scrape: FAIL: {what}: {why}")
        time.sleep(0.2)


def targets_up():
    active = api("targets")["data"]["activeTargets"]
    health = {t["labels"]["job"]: (t["health"], t["lastError"]) for t in active}
    bad = {j: h for j, h in health.items() if h[0] != "up"}
    if set(health) != jobs or bad:
        return f"targets {health}"


until(f"every target is up: {sorted(jobs)}", targets_up)

for job, addr, metric in targets:
    def answered(job=job, metric=metric):
        r = api("query", query=f'{metric}{{job="{job}"}}')
        if r["status"] != "success" or not r["data"]["result"]:
            return f"{metric}: {r}"
    until(f"{job} answers {metric}", answered, timeout=10)
    [sample] = api("query", query=f'{metric}{{job="{job}"}}')["data"]["result"]
    print(f"prometheus_scrape:   {metric}{{instance={sample['metric']['instance']!r}}} = {sample['value'][1]}")
store_up = api("query", query="chaperone_collector_store_up")["data"]["result"]
if [s["value"][1] for s in store_up] != ["1"]:
    sys.exit(f"prometheus_scrape: FAIL: the collector's store is not up: {store_up}")

# The shipped rules: all loaded and evaluated without an error.
want_rules = len(re.findall(r"^\s*- alert: ", open(os.environ["RULES"]).read(), re.M))


def rules_evaluated():
    rules = [r for g in api("rules")["data"]["groups"] for r in g["rules"]]
    errors = [(r["name"], r.get("lastError")) for r in rules if r["health"] == "err"]
    if errors:
        sys.exit(f"prometheus_scrape: FAIL: rules failed to evaluate: {errors}")
    pending = [r["name"] for r in rules if r["health"] != "ok"]
    if len(rules) != want_rules or pending:
        return f"{len(rules)} of {want_rules} rules loaded; not evaluated yet: {pending}"


until(f"the {want_rules} shipped alerting rules are evaluated without error", rules_evaluated)

# The dashboard's queries, its variables replaced as Grafana would ("All" topics).
dashboard = json.load(open(os.environ["DASHBOARD"]))
queries = [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]
scraped_prefixes = tuple(m.split("_")[1] for _, _, m in targets)  # service, collector, web, replicate, detect


# Series that exist only when there is something to say: loss or duplicates
# found (per topic), notifications sent (per receiver; none is configured here).
ONLY_WITH_FINDINGS = ("chaperone_detect_lost_messages", "chaperone_detect_duplicated_messages",
                      "chaperone_detect_notifications_total")


def expect_series(expr):
    if any(m in expr for m in ONLY_WITH_FINDINGS):
        return False
    names = re.findall(r"chaperone_([a-z]+)_", expr)
    return all(n in scraped_prefixes for n in names)


def dashboard_answers():
    empty = []
    for title, expr in queries:
        q = expr.replace("$__rate_interval", "1m").replace("$topic", ".*")
        r = api("query", query=q)
        if r["status"] != "success":
            sys.exit(f"prometheus_scrape: FAIL: panel {title!r}: {q}: {r.get('error')}")
        if expect_series(expr) and not r["data"]["result"]:
            empty.append(title)
    if empty:
        return f"no series yet for {empty}"


until(f"the dashboard's {len(queries)} queries are valid; those of running components "
      f"({sum(expect_series(e) for _, e in queries)}) return series", dashboard_answers)
PY
echo "prometheus_scrape: ok"
