#!/usr/bin/env bash
# A throwaway Redis for tests and local clusters: loopback only, a free port below 32768, its own
# directory in a temp dir, no automatic snapshots, a 256 MiB memory bound that evicts keys with a
# TTL first (volatile-lru: the cache's generation counter has none, so it is never evicted).
#
#   redis.sh start [PORT]        starts one; prints its URL on the first line and its directory
#                                on the second (give the directory to the commands below). With
#                                REDIS_PASSWORD set, the server requires it and the URL holds it.
#   redis.sh stop DIR            stops it and removes DIR
#   redis.sh kill DIR            kill -9: gone at once, nothing saved, DIR kept
#   redis.sh restart DIR         starts it again on the same port, after kill or stop-server
#   redis.sh pause DIR           SIGSTOP: connections stay open but nothing answers
#   redis.sh resume DIR          SIGCONT
#   redis.sh run CMD ARGS...     starts one, runs CMD with EMPORIUM_TEST_REDIS_URL set to its URL,
#                                stops it whatever CMD did, and exits with CMD's status
set -euo pipefail

REDIS_SERVER=${REDIS_SERVER:-redis-server}

# shellcheck source=scripts/services/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

pid_of() {
    [[ -s $1/redis.pid ]] && cat "$1/redis.pid"
}

# Answers PING within 10 s, or fails.
wait_ready() {
    local dir=$1 port
    port=$(cat "$dir/port")
    for _ in $(seq 1 200); do
        if REDISCLI_AUTH=$(cat "$dir/password" 2>/dev/null || true) \
            redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
            return 0
        fi
        sleep 0.05  # polling a starting server
    done
    return 1
}

# Writes the config (the password stays out of the process list) and starts the server.
launch() {
    local dir=$1 port=$2
    {
        echo "port $port"
        echo "bind 127.0.0.1"
        echo "protected-mode yes"
        echo "daemonize yes"
        echo "dir $dir"
        echo "pidfile $dir/redis.pid"
        echo "logfile $dir/redis.log"
        echo "save \"\""
        echo "appendonly no"
        echo "maxmemory 256mb"
        echo "maxmemory-policy volatile-lru"
        [[ -n ${REDIS_PASSWORD:-} ]] && echo "requirepass $REDIS_PASSWORD"
    } >"$dir/redis.conf"
    chmod 0600 "$dir/redis.conf"
    echo "$port" >"$dir/port"
    rm -f "$dir/redis.pid"
    "$REDIS_SERVER" "$dir/redis.conf" >/dev/null
    wait_ready "$dir"
}

url_of() {
    local dir=$1 auth=""
    [[ -s $dir/password ]] && auth=":$(cat "$dir/password")@"
    echo "redis://${auth}127.0.0.1:$(cat "$dir/port")/0"
}

start() {
    local dir port attempt
    dir=$(mktemp -d "${TMPDIR:-/tmp}/emporium-redis.XXXXXX")
    if [[ -n ${REDIS_PASSWORD:-} ]]; then
        (umask 077 && printf '%s' "$REDIS_PASSWORD" >"$dir/password")
    fi
    for attempt in 1 2 3 4 5 6 7 8; do
        port=${1:-$((20000 + RANDOM % 12000))}
        port_free "$port" || { [[ -n ${1:-} ]] && break; continue; }
        if launch "$dir" "$port"; then
            url_of "$dir"
            echo "$dir"
            return 0
        fi
        # Another process took the port between the check and the bind: try another one.
        kill "$(pid_of "$dir" || echo 0)" 2>/dev/null || true
        [[ -n ${1:-} ]] && break
    done
    echo "redis.sh: could not start redis-server; its log:" >&2
    cat "$dir/redis.log" >&2 2>/dev/null || true
    rm -rf "$dir"
    return 1
}

# Running (a zombie waiting for its parent to reap it counts as gone: a daemon's parent is init,
# which may take a second).
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

signal_server() {
    local dir=$1 sig=$2 pid
    pid=$(pid_of "$dir") || { echo "redis.sh: no server in $dir" >&2; return 1; }
    kill "-$sig" "$pid" 2>/dev/null || true
    if [[ $sig == KILL || $sig == TERM ]]; then
        for _ in $(seq 1 200); do
            alive "$pid" || { rm -f "$dir/redis.pid"; return 0; }
            sleep 0.05  # polling for the process to be gone
        done
        echo "redis.sh: $pid did not exit" >&2
        return 1
    fi
}

stop() {
    local dir=$1
    [[ -f $dir/redis.conf ]] || { echo "redis.sh: $dir holds no server" >&2; return 1; }
    # Nothing in it is kept: kill -9, which also ends a paused server.
    if pid_of "$dir" >/dev/null; then
        signal_server "$dir" KILL
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start)
        start "${2:-}"
        ;;
    stop)
        stop "${2:?usage: redis.sh stop DIR}"
        ;;
    kill)
        signal_server "${2:?usage: redis.sh kill DIR}" KILL
        ;;
    pause)
        signal_server "${2:?usage: redis.sh pause DIR}" STOP
        ;;
    resume)
        signal_server "${2:?usage: redis.sh resume DIR}" CONT
        ;;
    restart)
        dir=${2:?usage: redis.sh restart DIR}
        [[ -f $dir/redis.conf ]] || { echo "redis.sh: $dir holds no server" >&2; exit 1; }
        if pid_of "$dir" >/dev/null && alive "$(pid_of "$dir")"; then
            echo "redis.sh: the server in $dir is running" >&2
            exit 1
        fi
        rm -f "$dir/redis.pid"
        "$REDIS_SERVER" "$dir/redis.conf" >/dev/null
        wait_ready "$dir" || { echo "redis.sh: restart failed; its log:" >&2; tail -20 "$dir/redis.log" >&2; exit 1; }
        ;;
    run)
        shift
        [[ $# -gt 0 ]] || { echo "usage: redis.sh run CMD ARGS..." >&2; exit 2; }
        out=$(start)
        url=$(sed -n 1p <<<"$out")
        dir=$(sed -n 2p <<<"$out")
        trap 'stop "$dir"' EXIT
        trap 'exit 130' INT TERM
        status=0
        EMPORIUM_TEST_REDIS_URL=$url "$@" || status=$?
        exit $status
        ;;
    *)
        sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
