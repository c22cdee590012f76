#!/usr/bin/env bash
# Installs what Chaperone needs to build, test and run, on Debian bookworm.
# Idempotent: quiet and fast when nothing is missing.
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also test-only tools (kcat, clang for fuzzing,
#                                    PostgreSQL and MariaDB servers, Prometheus and its
#                                    Alertmanager, Chromium, Node.js/npm)
set -euo pipefail

build_pkgs=(
  build-essential cmake ccache pkg-config python3
  librdkafka-dev libsimdjson-dev nlohmann-json3-dev libsqlite3-dev libpq-dev libmariadb-dev
  libcpp-httplib-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libxxhash-dev libssl-dev zlib1g-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nodejs npm
)
test_pkgs=(
  kcat clang libclang-rt-14-dev postgresql mariadb-server prometheus prometheus-alertmanager chromium valgrind procps python3-confluent-kafka
)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # nodejs/npm may come from outside Debian on some images: accept the commands.
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
