#!/usr/bin/env bash
# A throwaway RabbitMQ for tests and local clusters: Debian's rabbitmq-server started directly (the
# /usr/sbin wrappers switch user), loopback only, with every port (AMQP, Erlang distribution, its
# own epmd), file and log in a temp dir. The same way tests/api/broker.py starts one.
#
#   rabbitmq.sh start            starts one; prints its AMQP URL on the first line and its
#                                directory on the second (give the directory to the commands below)
#   rabbitmq.sh stop DIR         stops it (its epmd too) and removes DIR
#   rabbitmq.sh restart DIR      stops the broker and starts it again on the same ports and data:
#                                durable queues and persistent messages survive, connections do not
#   rabbitmq.sh run CMD ARGS...  starts one, runs CMD with EMPORIUM_AMQP_URL set to its URL, stops
#                                it whatever CMD did, and exits with CMD's status
# shellcheck disable=SC1091 # DIR/env, written by write_env
set -euo pipefail

RABBIT_BIN=${RABBIT_BIN:-/usr/lib/rabbitmq/bin}

# shellcheck source=scripts/services/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

# The broker's environment, kept in DIR/env so that restart and stop talk to the same node.
# RabbitMQ also reads unprefixed LOGS, NODENAME, ... from the environment: they are cleared.
write_env() {
    local dir=$1 port=$2 dist=$3 epmd=$4
    cat >"$dir/env" <<ENV
unset LOGS NODENAME NODE_PORT MNESIA_BASE
export HOME=$dir
export RABBITMQ_NODENAME=emporium$port@localhost
export RABBITMQ_LOGS=$dir/log/rabbit.log
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$dist
export ERL_EPMD_PORT=$epmd
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_MNESIA_BASE=$dir/mnesia
export RABBITMQ_LOG_BASE=$dir/log
export RABBITMQ_CONFIG_FILE=$dir/rabbitmq
export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
export RABBITMQ_PID_FILE=$dir/rabbit.pid
export ERL_CRASH_DUMP=$dir/erl_crash.dump
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
ENV
    printf 'loopback_users = none\nlisteners.tcp.default = 127.0.0.1:%d\n' "$port" >"$dir/rabbitmq.conf"
    echo "[]." >"$dir/enabled_plugins"
    echo "$port" >"$dir/port"
}

# Starts the broker in DIR (env written) and waits until its AMQP port takes connections.
launch() {
    local dir=$1
    (
        source "$dir/env"
        cd "$dir"
        setsid "$RABBIT_BIN/rabbitmq-server" >>"$dir/server.out" 2>&1 </dev/null &
        echo $! >"$dir/server.pid"
        # The AMQP listener opens once the rabbit application has booted: a connect is the cheap
        # readiness probe (rabbitmq-diagnostics ping and rabbitmqctl await_startup each start an
        # Erlang VM of their own). Generous: the VM is slow on a busy machine.
        local deadline=$((SECONDS + 180))
        until ! port_free "$(cat "$dir/port")"; do
            kill -0 "$(cat "$dir/server.pid")" 2>/dev/null || { echo "rabbitmq.sh: rabbitmq-server exited" >&2; exit 1; }
            ((SECONDS < deadline)) || { echo "rabbitmq.sh: not listening after 180 s" >&2; exit 1; }
            sleep 0.1  # polling the listener
        done
    )
}

# Stops the broker in DIR and waits for its process to be gone; its epmd stays.
halt() {
    local dir=$1 pid
    pid=$(cat "$dir/server.pid" 2>/dev/null || echo "")
    if [[ -n $pid ]]; then
        # SIGTERM stops the node as `rabbitmqctl stop` does, without starting a VM to say so.
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 600); do
            kill -0 "$pid" 2>/dev/null || return 0
            sleep 0.05  # polling for the broker's exit
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
}

start() {
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/emporium-rabbit.XXXXXX")
    for _ in 1 2 3; do
        write_env "$dir" "$(free_port)" "$(free_port)" "$(free_port)"
        if launch "$dir"; then
            echo "amqp://guest:guest@127.0.0.1:$(cat "$dir/port")/"
            echo "$dir"
            return 0
        fi
        # A port taken between choosing and binding it, or a VM that gave up: new ports.
        halt "$dir"
        (source "$dir/env" && epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1) || true
    done
    echo "rabbitmq.sh: could not start rabbitmq-server; its output:" >&2
    tail -c 1500 "$dir/server.out" >&2 || true
    rm -rf "$dir"
    return 1
}

stop() {
    local dir=$1
    [[ -f $dir/env ]] || { echo "rabbitmq.sh: $dir holds no broker" >&2; return 1; }
    halt "$dir"
    (source "$dir/env" && epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1) || true
    rm -rf "$dir"
}

case "${1:-}" in
    start)
        start
        ;;
    stop)
        stop "${2:?usage: rabbitmq.sh stop DIR}"
        ;;
    restart)
        dir=${2:?usage: rabbitmq.sh restart DIR}
        [[ -f $dir/env ]] || { echo "rabbitmq.sh: $dir holds no broker" >&2; exit 1; }
        halt "$dir"
        launch "$dir" || { tail -c 1500 "$dir/server.out" >&2; exit 1; }
        ;;
    run)
        shift
        [[ $# -gt 0 ]] || { echo "usage: rabbitmq.sh run CMD ARGS..." >&2; exit 2; }
        out=$(start)
        url=$(sed -n 1p <<<"$out")
        dir=$(sed -n 2p <<<"$out")
        trap 'stop "$dir"' EXIT
        trap 'exit 130' INT TERM
        status=0
        EMPORIUM_AMQP_URL=$url "$@" || status=$?
        exit $status
        ;;
    *)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
