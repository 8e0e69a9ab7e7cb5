#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests: its own data directory in a temp dir, loopback only, a free
# port below 32768, trust authentication, no fsync (nothing in it outlives the test run).
#
#   postgres.sh start            starts one; prints its URL on the first line and its directory
#                                on the second (give the directory to stop)
#   postgres.sh stop DIR         stops it and removes DIR
#   postgres.sh run CMD ARGS...  starts one, runs CMD with EMPORIUM_TEST_DATABASE_URL set to its
#                                URL, stops it whatever CMD did, and exits with CMD's status
#   postgres.sh createdb URL NAME
#                                creates database NAME on the server at URL (a fresh, empty
#                                database per test) and prints its URL
#
# PostgreSQL refuses to run as root: as root its programs run as the user postgres (runuser).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# shellcheck source=scripts/services/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

start() {
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/emporium-pg.XXXXXX")
    chmod 0755 "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    if ! as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 -N \
        >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        return 1
    fi
    local attempt port
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 12000))
        port_free "$port" || continue
        if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o \
            "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
             -c shared_buffers=64MB" start >/dev/null 2>&1; then
            echo "postgresql://postgres@127.0.0.1:$port/postgres"
            echo "$dir"
            return 0
        fi
        # Another process took the port between the check and the bind: try another one.
    done
    echo "postgres.sh: could not start PostgreSQL; its log:" >&2
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    return 1
}

stop() {
    local dir=$1
    [[ -d $dir/data ]] || { echo "postgres.sh: $dir holds no server" >&2; return 1; }
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start)
        start
        ;;
    stop)
        stop "${2:?usage: postgres.sh stop DIR}"
        ;;
    run)
        shift
        [[ $# -gt 0 ]] || { echo "usage: postgres.sh run CMD ARGS..." >&2; exit 2; }
        out=$(start)
        url=$(sed -n 1p <<<"$out")
        dir=$(sed -n 2p <<<"$out")
        trap 'stop "$dir"' EXIT
        trap 'exit 130' INT TERM
        status=0
        EMPORIUM_TEST_DATABASE_URL=$url "$@" || status=$?
        exit $status
        ;;
    createdb)
        url=${2:?usage: postgres.sh createdb URL NAME}
        name=${3:?usage: postgres.sh createdb URL NAME}
        [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "postgres.sh: a database name is [a-z_][a-z0-9_]*" >&2; exit 2; }
        psql -X -q -v ON_ERROR_STOP=1 "$url" -c "CREATE DATABASE $name" >/dev/null
        echo "${url%/*}/$name"
        ;;
    *)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
