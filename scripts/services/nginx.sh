#!/usr/bin/env bash
# nginx in front of Emporium's web nodes, for tests and local clusters: deploy/nginx's template
# rendered into a temp dir with the nodes' public ports, loopback only, a free port below 32768,
# its own pid file, logs and temp paths in that dir.
#
#   nginx.sh start PORT...       starts one in front of the nodes on these public ports; prints its
#                                URL on the first line and its directory on the second (give the
#                                directory to the commands below). NGINX_PORT picks its port.
#   nginx.sh reload DIR PORT...  the same nginx, now in front of these ports (a node added or
#                                removed): the config is rendered again and nginx reloads it
#                                without dropping a request
#   nginx.sh stop DIR            stops it and removes DIR
#   nginx.sh config DIR          prints the rendered config
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TEMPLATE=${NGINX_TEMPLATE:-$ROOT/deploy/nginx/emporium.conf.template}
NGINX=${NGINX:-/usr/sbin/nginx}

# shellcheck source=scripts/services/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

render() {
    local dir=$1 listen=$2
    shift 2
    local upstreams="" port
    for port in "$@"; do
        [[ $port =~ ^[0-9]+$ ]] || { echo "nginx.sh: not a port: $port" >&2; return 2; }
        upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'
    done
    # shellcheck disable=SC2016 # the names envsubst may replace, not expansions
    NGINX_DIR=$dir NGINX_LISTEN=$listen NGINX_WORKERS=${NGINX_WORKERS:-1} NGINX_UPSTREAMS=$upstreams \
        envsubst '${NGINX_DIR} ${NGINX_LISTEN} ${NGINX_WORKERS} ${NGINX_UPSTREAMS}' <"$TEMPLATE" >"$dir/nginx.conf.new"
    "$NGINX" -t -q -p "$dir" -c "$dir/nginx.conf.new" -e "$dir/error.log" || return 1
    mv "$dir/nginx.conf.new" "$dir/nginx.conf"
}

pid_of() {
    [[ -s $1/nginx.pid ]] && cat "$1/nginx.pid"
}

# nginx is listening (its master wrote the pid file once the sockets were bound).
wait_ready() {
    local dir=$1 port
    port=$(cat "$dir/port")
    for _ in $(seq 1 200); do
        if pid_of "$dir" >/dev/null && ! port_free "$port"; then
            return 0
        fi
        sleep 0.05  # polling a starting server
    done
    return 1
}

start() {
    [[ $# -gt 0 ]] || { echo "usage: nginx.sh start PORT..." >&2; return 2; }
    local dir port
    dir=$(mktemp -d "${TMPDIR:-/tmp}/emporium-nginx.XXXXXX")
    # Workers run as nobody when nginx starts as root: they must reach their temp paths.
    chmod 0755 "$dir"
    for _ in 1 2 3 4 5 6 7 8; do
        port=${NGINX_PORT:-$((20000 + RANDOM % 12000))}
        port_free "$port" || { [[ -n ${NGINX_PORT:-} ]] && break; continue; }
        render "$dir" "127.0.0.1:$port" "$@" || break
        echo "$port" >"$dir/port"
        printf '%s\n' "$@" >"$dir/upstreams"
        if "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" && wait_ready "$dir"; then
            echo "http://127.0.0.1:$port"
            echo "$dir"
            return 0
        fi
        # Another process took the port between the check and the bind: try another one.
        [[ -n ${NGINX_PORT:-} ]] && break
    done
    echo "nginx.sh: could not start nginx; its log:" >&2
    cat "$dir/error.log" >&2 2>/dev/null || true
    rm -rf "$dir"
    return 1
}

stop() {
    local dir=$1 pid
    [[ -f $dir/nginx.conf ]] || { echo "nginx.sh: $dir holds no nginx" >&2; return 1; }
    if pid=$(pid_of "$dir"); then
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 1 200); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05  # polling for the graceful stop
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

reload() {
    local dir=$1 pid
    shift
    [[ $# -gt 0 ]] || { echo "usage: nginx.sh reload DIR PORT..." >&2; return 2; }
    pid=$(pid_of "$dir") || { echo "nginx.sh: no nginx in $dir" >&2; return 1; }
    render "$dir" "127.0.0.1:$(cat "$dir/port")" "$@"
    printf '%s\n' "$@" >"$dir/upstreams"
    kill -HUP "$pid"
}

case "${1:-}" in
    start)
        shift
        start "$@"
        ;;
    stop)
        stop "${2:?usage: nginx.sh stop DIR}"
        ;;
    reload)
        shift
        reload "${1:?usage: nginx.sh reload DIR PORT...}" "${@:2}"
        ;;
    config)
        cat "${2:?usage: nginx.sh config DIR}/nginx.conf"
        ;;
    *)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
