#!/usr/bin/env bash
# Installs every Debian package Emporium needs to build, test, serve and benchmark,
# then the web page's npm packages. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    build-essential cmake ninja-build ccache pkg-config git
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
    libsqlite3-dev libpq-dev postgresql postgresql-client-15 patroni etcd-server python3-etcd libhiredis-dev redis-server libsodium-dev libssl-dev libspdlog-dev libfmt-dev libcli11-dev
    libbrotli-dev zlib1g-dev libhowardhinnant-date-dev tzdata libcurl4-openssl-dev prometheus-cpp-dev libpugixml-dev librabbitmq-dev rabbitmq-server prometheus prometheus-alertmanager
    libgtest-dev libgmock-dev libbenchmark-dev libhnswlib-dev libvips-dev
    clang-format clang-tidy clang libclang-rt-14-dev
    nodejs npm chromium python3 python3-yaml python3-jsonschema
    wrk nginx-light gettext-base curl bc openssl python3-locust linux-perf
    libsystemd-dev systemd
)

missing=()
for p in "${packages[@]}"; do
    # nodejs/npm may come from elsewhere on a developer machine: accept the commands.
    case "$p" in
        nodejs) command -v node >/dev/null && continue ;;
        npm) command -v npm >/dev/null && continue ;;
        python3) command -v python3 >/dev/null && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for dir in web tests/e2e tests/quality tests/k8s tests/openapi; do
    # npm ci only when the lock file changed since the last install.
    [[ -f $dir/package-lock.json ]] || continue
    stamp=$dir/node_modules/.emporium-lock
    if [[ ! -f $stamp ]] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        cp "$dir/package-lock.json" "$stamp"
    fi
done
