#!/usr/bin/env bash
# The whole shop as a cluster on this machine, on loopback: PostgreSQL, Redis and RabbitMQ, a demo
# shop seeded into PostgreSQL, NODES stateless web nodes and one worker over them, and nginx in
# front. Prints the shop's URL and each service's address, then runs until Ctrl-C (or SIGTERM),
# which stops everything and removes every temp dir.
#
#   scripts/cluster.sh [--nodes N] [--preset games|grocery] [--products N] [--orders N] [--port PORT] [--ha]
#
# --ha runs the database highly available: three PostgreSQL members managed by Patroni over etcd
# (scripts/services/patroni.sh), reached through a multi-host URL that finds the primary.
# --port is nginx's port (default: a free one below 32768). Every EMPORIUM_* setting in the
# environment reaches the nodes and the worker (EMPORIUM_RATE_LIMIT, EMPORIUM_TWILIO_*, ...);
# EMPORIUM_BIN names the binary (default build/emporium). With CLUSTER_STATE=FILE, the addresses,
# directories and process ids are also written to FILE as KEY=VALUE lines once the cluster is up
# (what tests/cluster/cluster.py reads), and the line "cluster ready" is printed last.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVICES=$ROOT/scripts/services
BIN=${EMPORIUM_BIN:-$ROOT/build/emporium}
NODES=3
PRESET=games
PRODUCTS=500
ORDERS=1000
NGINX_PORT=${NGINX_PORT:-}
HA=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --nodes) NODES=$2; shift 2 ;;
        --preset) PRESET=$2; shift 2 ;;
        --products) PRODUCTS=$2; shift 2 ;;
        --orders) ORDERS=$2; shift 2 ;;
        --port) NGINX_PORT=$2; shift 2 ;;
        --ha) HA=1; shift ;;
        *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
[[ $NODES =~ ^[1-9][0-9]?$ ]] || { echo "cluster.sh: --nodes is 1 to 99" >&2; exit 2; }
[[ -x $BIN ]] || { echo "cluster.sh: $BIN is missing: run make build" >&2; exit 1; }

# shellcheck source=scripts/services/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/services/ports.sh"

# Running, not a zombie waiting for this script to reap it.
running() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

# True when URL (a /readyz) answers 200 and its /healthz names PID: another process that took the
# port first answers too.
ready_as() {
    local url=$1 pid=$2
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null &&
        curl -fsS --max-time 2 "${url%/readyz}/healthz" 2>/dev/null | grep -q "\"pid\":$pid[,}]"
}

# Polls URL until process PID answers 200 there, for at most 60 s, while PID lives.
wait_ready() {
    local url=$1 pid=$2 log=$3 deadline=$((SECONDS + 60))
    until ready_as "$url" "$pid"; do
        if ! running "$pid"; then
            echo "cluster.sh: process $pid exited at start; its log:" >&2
            tail -20 "$log" >&2
            return 1
        fi
        ((SECONDS < deadline)) || { echo "cluster.sh: $url not ready in 60 s" >&2; tail -20 "$log" >&2; return 1; }
        sleep 0.1  # polling a starting process
    done
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/emporium-cluster.XXXXXX")
PG_DIR="" PATRONI_DIR="" REDIS_DIR="" RABBIT_DIR="" NGINX_DIR=""
PIDS=()
NODE_INTERNALS=()
cleanup() {
    trap - EXIT INT TERM
    local pid internal
    # A node restarted or upgraded in place (SIGHUP) runs as another process now: the one that
    # answers on its internal port.
    for internal in "${NODE_INTERNALS[@]}"; do
        pid=$(curl -s -m 2 "http://127.0.0.1:$internal/healthz" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p' || true)
        if [[ -n $pid ]]; then PIDS+=("$pid"); fi
    done
    # Web nodes and worker first (they drain and let go of their leases), then what they used.
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    local deadline=$((SECONDS + 30))
    for pid in "${PIDS[@]}"; do
        while running "$pid" && ((SECONDS < deadline)); do
            sleep 0.1  # polling for a graceful stop
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n $NGINX_DIR ]]; then "$SERVICES/nginx.sh" stop "$NGINX_DIR" || true; fi
    if [[ -n $RABBIT_DIR ]]; then "$SERVICES/rabbitmq.sh" stop "$RABBIT_DIR" || true; fi
    if [[ -n $REDIS_DIR ]]; then "$SERVICES/redis.sh" stop "$REDIS_DIR" || true; fi
    if [[ -n $PG_DIR ]]; then "$SERVICES/postgres.sh" stop "$PG_DIR" || true; fi
    if [[ -n $PATRONI_DIR ]]; then "$SERVICES/patroni.sh" stop "$PATRONI_DIR" || true; fi
    rm -rf "$WORK"
    [[ -n ${CLUSTER_STATE:-} ]] && rm -f "$CLUSTER_STATE"
    echo "cluster stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a service script; sets the named variables to its URL and directory.
service() {
    local script=$1 url_var=$2 dir_var=$3 out
    out=$("$SERVICES/$script" start)
    printf -v "$url_var" '%s' "$(sed -n 1p <<<"$out")"
    printf -v "$dir_var" '%s' "$(sed -n 2p <<<"$out")"
}

if ((HA)); then
    echo "starting PostgreSQL (3 members under Patroni and etcd), Redis and RabbitMQ..."
    service patroni.sh PG_SERVER PATRONI_DIR
    DATABASE_URL=$("$SERVICES/patroni.sh" createdb "$PG_SERVER" emporium)
else
    echo "starting PostgreSQL, Redis and RabbitMQ..."
    service postgres.sh PG_SERVER PG_DIR
    DATABASE_URL=$("$SERVICES/postgres.sh" createdb "$PG_SERVER" emporium)
fi
service redis.sh REDIS_URL REDIS_DIR
service rabbitmq.sh AMQP_URL RABBIT_DIR

# One PII key for every process (each encrypts and decrypts the same rows); it lives only in the
# environment of this cluster's processes.
EMPORIUM_PII_KEY=${EMPORIUM_PII_KEY:-$(head -c 32 /dev/urandom | base64)}
export EMPORIUM_PII_KEY EMPORIUM_DATABASE_URL=$DATABASE_URL EMPORIUM_REDIS_URL=$REDIS_URL EMPORIUM_AMQP_URL=$AMQP_URL
unset EMPORIUM_DATA_DIR

echo "seeding the $PRESET demo shop ($PRODUCTS products, $ORDERS orders)..."
"$BIN" seed --preset "$PRESET" --products "$PRODUCTS" --orders "$ORDERS" --data-dir "$WORK/seed" \
    >"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log" >&2; exit 1; }

NODE_PORTS=()
STATE_LINES=()
# start_node I: web node I on two free ports, tried again on new ones if another process took a
# port between the check and the bind.
start_node() {
    local i=$1 port internal pid
    mkdir -p "$WORK/node$i"
    for _ in 1 2 3; do
        port=$(free_port)
        internal=$(free_port)
        # nginx (127.0.0.1) is the trusted proxy: the nodes take the client's address from its
        # X-Forwarded-For. Sales reports are kept by the worker (--analytics off here).
        "$BIN" serve --data-dir "$WORK/node$i" --bind 127.0.0.1 --port "$port" --internal-port "$internal" \
            --trusted-proxies 127.0.0.1 --events rabbitmq --analytics off \
            >>"$WORK/node$i.log" 2>&1 &
        pid=$!
        PIDS+=("$pid")  # stopped by cleanup even if a signal comes while it starts
        if wait_ready "http://127.0.0.1:$internal/readyz" "$pid" "$WORK/node$i.log"; then
            NODE_PORTS+=("$port")
            NODE_INTERNALS+=("$internal")
            STATE_LINES+=("NODE${i}_PORT=$port" "NODE${i}_INTERNAL=$internal" "NODE${i}_PID=$pid"
                "NODE${i}_LOG=$WORK/node$i.log")
            return 0
        fi
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    return 1
}

for i in $(seq 1 "$NODES"); do
    start_node "$i"
done

worker_internal=$(free_port)
mkdir -p "$WORK/worker"
"$BIN" worker --data-dir "$WORK/worker" --internal-port "$worker_internal" >>"$WORK/worker.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$worker_internal/readyz" "$!" "$WORK/worker.log"
STATE_LINES+=("WORKER_INTERNAL=$worker_internal" "WORKER_PID=$!" "WORKER_LOG=$WORK/worker.log")

out=$(NGINX_PORT=$NGINX_PORT "$SERVICES/nginx.sh" start "${NODE_PORTS[@]}")
SHOP_URL=$(sed -n 1p <<<"$out")
NGINX_DIR=$(sed -n 2p <<<"$out")

echo
echo "Shop (nginx):  $SHOP_URL"
for i in $(seq 1 "$NODES"); do
    echo "Web node $i:    http://127.0.0.1:${NODE_PORTS[$((i - 1))]}   internal (health, metrics): http://127.0.0.1:${NODE_INTERNALS[$((i - 1))]}"
done
echo "Worker:        internal (health, metrics): http://127.0.0.1:$worker_internal"
echo "PostgreSQL:    $DATABASE_URL"
if ((HA)); then
    echo "Patroni:       primary m$("$SERVICES/patroni.sh" leader "$PATRONI_DIR") of 3 (scripts/services/patroni.sh status $PATRONI_DIR)"
fi
echo "Redis:         $REDIS_URL"
echo "RabbitMQ:      $AMQP_URL"
echo "Logs:          $WORK (nginx: $NGINX_DIR)"
domain=gitgoods.example
[[ $PRESET == grocery ]] && domain=gomart.example
echo "Sign in as admin@$domain with the password 'demo password 123'. Ctrl-C stops it all."

if [[ -n ${CLUSTER_STATE:-} ]]; then
    {
        echo "URL=$SHOP_URL"
        echo "NODES=$NODES"
        echo "DATABASE_URL=$DATABASE_URL"
        echo "REDIS_URL=$REDIS_URL"
        echo "AMQP_URL=$AMQP_URL"
        echo "PG_DIR=$PG_DIR"
        echo "PATRONI_DIR=$PATRONI_DIR"
        echo "REDIS_DIR=$REDIS_DIR"
        echo "RABBIT_DIR=$RABBIT_DIR"
        echo "NGINX_DIR=$NGINX_DIR"
        echo "WORK=$WORK"
        printf '%s\n' "${STATE_LINES[@]}"
    } >"$CLUSTER_STATE.new"
    mv "$CLUSTER_STATE.new" "$CLUSTER_STATE"
fi
echo "cluster ready"

# Runs until a signal; a node that dies (kill -9 in a drill) leaves the others running.
while :; do
    wait || true
    # Every child has exited: nothing left to serve.
    [[ -z $(jobs -rp) ]] && { echo "cluster.sh: every node and the worker exited" >&2; exit 1; }
done
