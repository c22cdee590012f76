#!/usr/bin/env bash
# The shipped Prometheus files (deploy/prometheus) as Prometheus's own tool
# reads them: the alerting rules load, their unit tests pass (every alert fires
# where it must, and only there), and the example configuration is valid.
set -euo pipefail
SRC=${CHAPERONE_SOURCE_DIR:?CHAPERONE_SOURCE_DIR must point at the source folder}
command -v promtool >/dev/null || { echo "SKIP: promtool not installed (Debian package prometheus)"; exit 77; }
dir=$SRC/deploy/prometheus
promtool check rules "$dir/chaperone-rules.yml"
(cd "$dir" && promtool test rules chaperone-rules.test.yml)
promtool check config "$dir/prometheus.yml"
echo "promtool_test: ok"
