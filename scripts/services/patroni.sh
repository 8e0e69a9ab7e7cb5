#!/usr/bin/env bash
# A highly available PostgreSQL 15 for tests and local clusters: one etcd member and MEMBERS
# (default 3) PostgreSQL members managed by Patroni, all on loopback in one temp dir, every port
# (etcd client and peer, each member's PostgreSQL and Patroni REST API) free and below 32768.
# Patroni keeps one primary and, with synchronous_mode_strict, one synchronous standby: a commit is
# acknowledged only once a second member has it, and only that standby may be promoted. When the
# primary's Patroni stops renewing its leader key (ttl 10 s), the synchronous standby takes the key
# and promotes itself. Clients reach whichever member is primary through a libpq multi-host URL
# with target_session_attrs=read-write. Trust authentication on loopback, no fsync (like
# postgres.sh) and etcd's data in /dev/shm: nothing in it outlives the test run
# (docs/OPERATIONS.md has the production setup).
#
#   patroni.sh start [MEMBERS]   starts one (2 to 9 members); prints the multi-host URL on the first
#                                line and its directory on the second (give it to the commands below)
#   patroni.sh stop DIR          stops every member and etcd, and removes DIR
#   patroni.sh leader DIR        prints the member number (1..MEMBERS) that is primary now, asked
#                                of each member's REST API (GET /primary answers 200 on the leader)
#   patroni.sh status DIR        prints one line per member: number, role and state from its REST API
#   patroni.sh kill DIR N        member N's machine lost: kill -9 its Patroni, postmaster and backends
#   patroni.sh kill-postgres DIR N
#                                kill -9 of member N's postmaster only: its Patroni restarts it (and
#                                a primary stays primary: no failover while its Patroni lives)
#   patroni.sh restart DIR N     starts member N's Patroni again (after kill): it rejoins the current
#                                primary as a standby (pg_rewind first when its history diverged)
#   patroni.sh wait DIR          waits (up to 180 s) for a primary, a synchronous standby and every
#                                other running member streaming
#   patroni.sh createdb URL NAME creates database NAME on the primary and prints its multi-host URL
#
# PostgreSQL refuses to run as root: as root, etcd, Patroni and PostgreSQL run as the user postgres
# (setpriv and setsid exec in place, so the pid recorded is Patroni's own).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PATRONI=${PATRONI:-/usr/bin/patroni}
ETCD=${ETCD:-/usr/bin/etcd}

# shellcheck source=scripts/services/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

# The command prefix that runs a program as the owner. A prefix, not a function: a program started
# in the background through it is the process whose id $! gives (setpriv and setsid exec in place).
OWNER=()
[[ $(id -u) -eq 0 ]] && OWNER=(setpriv --reuid=postgres --regid=postgres --init-groups --)

# Running, not a zombie.
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

# HTTP status of GET URL ("000" when nothing answers).
http_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}

members_of() {
    cat "$1/members"
}

rest_port() {
    cat "$1/m$2/rest_port"
}

start_etcd() {
    local dir=$1 client peer pid
    # etcd syncs every write to disk, and a sync stuck behind a busy machine's builds can outlast
    # Patroni's retry_timeout (the primary would step down): its data lives in memory when it can
    # (/dev/shm), nothing of it outlives the cluster anyway. DIR/etcd links to it.
    if [[ -d /dev/shm && -w /dev/shm ]]; then
        ln -s "$(mktemp -d /dev/shm/emporium-etcd.XXXXXX)" "$dir/etcd"
    else
        mkdir "$dir/etcd"
    fi
    chmod 0700 "$dir/etcd/"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/etcd/"
    for _ in 1 2 3 4 5; do
        client=$(free_port)
        peer=$(free_port)
        [[ $client != "$peer" ]] || continue
        "${OWNER[@]}" setsid "$ETCD" --name e1 --data-dir "$dir/etcd" \
            --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
            --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
            --initial-cluster "e1=http://127.0.0.1:$peer" --initial-cluster-state new \
            --initial-cluster-token "emporium-$client" --logger zap --log-outputs "$dir/etcd.log" \
            </dev/null >>"$dir/etcd.out" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/etcd.pid"
        local deadline=$((SECONDS + 30))
        while alive "$pid" && ((SECONDS < deadline)); do
            if curl -fsS --max-time 2 "http://127.0.0.1:$client/health" 2>/dev/null | grep -q '"health":"true"'; then
                echo "$client" >"$dir/etcd_port"
                return 0
            fi
            sleep 0.1  # polling a starting server
        done
        # A port taken between the check and the bind, or a start that hung: new ports.
        kill -KILL "$pid" 2>/dev/null || true
        find "$dir/etcd/" -mindepth 1 -delete
    done
    echo "patroni.sh: could not start etcd; its log:" >&2
    tail -n 20 "$dir/etcd.out" >&2 || true
    return 1
}

# Member N's Patroni configuration. The cluster-wide settings under bootstrap.dcs are written to
# etcd by the first member and shared from then on.
write_config() {
    local dir=$1 n=$2 pg_port=$3 rest=$4 etcd_port=$5 scope=$6
    local m=$dir/m$n
    mkdir -p "$m"
    echo "$pg_port" >"$m/pg_port"
    echo "$rest" >"$m/rest_port"
    cat >"$m/patroni.yml" <<YAML
scope: $scope
namespace: /emporium/
name: m$n
log:
  level: INFO
  dir: $m
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  hosts: 127.0.0.1:$etcd_port
bootstrap:
  dcs:
    # The leader key lives ttl seconds unless renewed; Patroni's loop runs every loop_wait seconds
    # and gives up on etcd or PostgreSQL after retry_timeout (loop_wait + 2 * retry_timeout <= ttl).
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        full_page_writes: "on"
        synchronous_commit: "on"
        max_connections: 300
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
        shared_buffers: 64MB
        fsync: "off"
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - auth: trust
postgresql:
  listen: 127.0.0.1:$pg_port
  connect_address: 127.0.0.1:$pg_port
  data_dir: $m/data
  bin_dir: $PG_BIN
  pgpass: $m/pgpass
  remove_data_directory_on_rewind_failure: true
  remove_data_directory_on_diverged_timelines: true
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: $m
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
YAML
}

# Starts member N's Patroni in the background and records its pid.
launch() {
    local dir=$1 n=$2 m=$1/m$2 pid
    "${OWNER[@]}" setsid "$PATRONI" "$m/patroni.yml" </dev/null >>"$m/patroni.out" 2>&1 &
    pid=$!
    echo "$pid" >"$m/patroni.pid"
}

# The member's REST API answers role probes: GET /primary, /sync and /replica say 200 when the
# member is the leader, the synchronous standby, or a streaming standby.
role_status() {
    http_status "http://127.0.0.1:$(rest_port "$1" "$2")/$3"
}

leader() {
    local dir=$1 n
    for n in $(seq 1 "$(members_of "$dir")"); do
        [[ $(role_status "$dir" "$n" primary) == 200 ]] && { echo "$n"; return 0; }
    done
    return 1
}

member_running() {
    local pid
    pid=$(cat "$1/m$2/patroni.pid" 2>/dev/null) || return 1
    alive "$pid"
}

# A primary, a synchronous standby, and every other running member a streaming standby.
healthy() {
    local dir=$1 n primary=0 sync=0 lagging=0
    for n in $(seq 1 "$(members_of "$dir")"); do
        member_running "$dir" "$n" || continue
        if [[ $(role_status "$dir" "$n" primary) == 200 ]]; then
            primary=$((primary + 1))
        elif [[ $(role_status "$dir" "$n" sync) == 200 ]]; then
            sync=$((sync + 1))
        elif [[ $(role_status "$dir" "$n" replica) != 200 ]]; then
            lagging=$((lagging + 1))
        fi
    done
    ((primary == 1 && sync >= 1 && lagging == 0))
}

wait_healthy() {
    local dir=$1 deadline=$((SECONDS + ${2:-180})) n
    until healthy "$dir"; do
        if ((SECONDS >= deadline)); then
            echo "patroni.sh: no primary with a synchronous standby in time; member logs:" >&2
            for n in $(seq 1 "$(members_of "$dir")"); do tail -n 5 "$dir/m$n/patroni.log" "$dir/m$n/patroni.out" >&2 || true; done
            return 1
        fi
        sleep 0.2  # polling the members' REST APIs
    done
}

url_of() {
    local dir=$1 db=${2:-postgres} hosts="" n
    for n in $(seq 1 "$(members_of "$dir")"); do
        hosts+="${hosts:+,}127.0.0.1:$(cat "$dir/m$n/pg_port")"
    done
    echo "postgresql://postgres@$hosts/$db?target_session_attrs=read-write"
}

# Sets NEW_PORT to a free port no other member of this cluster was given (TAKEN: the ports given
# so far): a member binds its ports only when it starts, after every port is chosen.
new_port() {
    while :; do
        NEW_PORT=$(free_port)
        [[ $TAKEN == *" $NEW_PORT "* ]] || break
    done
    TAKEN+="$NEW_PORT "
}

start() {
    local members=${1:-3} dir n
    [[ $members =~ ^[2-9]$ ]] || { echo "patroni.sh: MEMBERS is 2 to 9" >&2; return 2; }
    dir=$(mktemp -d "${TMPDIR:-/tmp}/emporium-patroni.XXXXXX")
    chmod 0755 "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    echo "$members" >"$dir/members"
    start_etcd "$dir" || { remove "$dir"; return 1; }
    TAKEN=" $(cat "$dir/etcd_port") "
    local scope pg_port
    scope=emporium-$(basename "$dir" | tr -dc 'a-zA-Z0-9')
    for n in $(seq 1 "$members"); do
        new_port
        pg_port=$NEW_PORT
        new_port
        write_config "$dir" "$n" "$pg_port" "$NEW_PORT" "$(cat "$dir/etcd_port")" "$scope"
    done
    [[ $(id -u) -eq 0 ]] && chown -R postgres: "$dir"
    # The first member bootstraps (initdb) and takes the leader key; the others then copy it.
    launch "$dir" 1
    local deadline=$((SECONDS + 120))
    until [[ $(role_status "$dir" 1 primary) == 200 ]]; do
        if ! member_running "$dir" 1 || ((SECONDS >= deadline)); then
            echo "patroni.sh: the first member did not become primary; its log:" >&2
            tail -n 30 "$dir/m1/patroni.log" "$dir/m1/patroni.out" >&2 || true
            stop "$dir"
            return 1
        fi
        sleep 0.2  # polling the bootstrap
    done
    for n in $(seq 2 "$members"); do launch "$dir" "$n"; done
    wait_healthy "$dir" || { stop "$dir"; return 1; }
    url_of "$dir"
    echo "$dir"
}

# SIGTERM to every Patroni (each stops its PostgreSQL), then etcd; kill -9 after 60 s.
stop() {
    local dir=$1 n pid pids=()
    [[ -f $dir/members ]] || { echo "patroni.sh: $dir holds no cluster" >&2; return 1; }
    for n in $(seq 1 "$(members_of "$dir")"); do
        pid=$(cat "$dir/m$n/patroni.pid" 2>/dev/null) || continue
        kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    done
    local deadline=$((SECONDS + 60))
    for pid in "${pids[@]}"; do
        while alive "$pid" && ((SECONDS < deadline)); do
            sleep 0.1  # polling for a graceful stop
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    for n in $(seq 1 "$(members_of "$dir")"); do
        # A postmaster left behind by a killed Patroni.
        if [[ -s $dir/m$n/data/postmaster.pid ]]; then
            "${OWNER[@]}" "$PG_BIN/pg_ctl" -D "$dir/m$n/data" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
    if pid=$(cat "$dir/etcd.pid" 2>/dev/null); then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            alive "$pid" || break
            sleep 0.1  # polling for etcd's exit
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    remove "$dir"
}

# Removes DIR and etcd's data, wherever it lives.
remove() {
    [[ -L $1/etcd ]] && rm -rf "$(readlink "$1/etcd")"
    rm -rf "$1"
}

# Member N's postmaster and its children (backends, walsenders), one pid a line; none when it is down.
postgres_pids() {
    local postmaster
    postmaster=$(head -1 "$1/m$2/data/postmaster.pid" 2>/dev/null) || return 0
    alive "$postmaster" || return 0
    echo "$postmaster"
    pgrep -P "$postmaster" || true
}

# kill -9 of every pid given, then waits (up to 5 s each) for them to be gone.
kill_all() {
    local pid
    (($#)) || return 1
    kill -KILL "$@" 2>/dev/null || true
    for pid in "$@"; do
        for _ in $(seq 1 100); do
            alive "$pid" || break
            sleep 0.05  # polling for the process to be gone
        done
    done
}

# Member N's machine lost: its Patroni, its postmaster and every backend go at once, with no
# chance to hand over the leader key or to restart PostgreSQL.
kill_member() {
    local dir=$1 n=$2 pids=() pid
    pid=$(cat "$dir/m$n/patroni.pid" 2>/dev/null) && alive "$pid" && pids+=("$pid")
    mapfile -t -O "${#pids[@]}" pids < <(postgres_pids "$dir" "$n")
    kill_all "${pids[@]}" || { echo "patroni.sh: member $n is not running" >&2; return 1; }
}

# PostgreSQL alone crashes on member N: its Patroni lives on and restarts it.
kill_postgres() {
    local pids=()
    mapfile -t pids < <(postgres_pids "$1" "$2")
    kill_all "${pids[@]}" || { echo "patroni.sh: member $2 has no running postmaster" >&2; return 1; }
}

case "${1:-}" in
    start)
        start "${2:-3}"
        ;;
    stop)
        stop "${2:?usage: patroni.sh stop DIR}"
        ;;
    leader)
        leader "${2:?usage: patroni.sh leader DIR}" || { echo "patroni.sh: no primary now" >&2; exit 1; }
        ;;
    status)
        dir=${2:?usage: patroni.sh status DIR}
        for n in $(seq 1 "$(members_of "$dir")"); do
            echo "$n $(curl -s --max-time 2 "http://127.0.0.1:$(rest_port "$dir" "$n")/patroni" 2>/dev/null ||
                echo unreachable)"
        done
        ;;
    kill)
        kill_member "${2:?usage: patroni.sh kill DIR N}" "${3:?usage: patroni.sh kill DIR N}"
        ;;
    kill-postgres)
        kill_postgres "${2:?usage: patroni.sh kill-postgres DIR N}" "${3:?usage: patroni.sh kill-postgres DIR N}"
        ;;
    restart)
        dir=${2:?usage: patroni.sh restart DIR N}
        n=${3:?usage: patroni.sh restart DIR N}
        member_running "$dir" "$n" && { echo "patroni.sh: member $n is running" >&2; exit 1; }
        launch "$dir" "$n"
        ;;
    wait)
        wait_healthy "${2:?usage: patroni.sh wait DIR}"
        ;;
    createdb)
        url=${2:?usage: patroni.sh createdb URL NAME}
        name=${3:?usage: patroni.sh createdb URL NAME}
        [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "patroni.sh: a database name is [a-z_][a-z0-9_]*" >&2; exit 2; }
        psql -X -q -v ON_ERROR_STOP=1 "$url" -c "CREATE DATABASE $name" >/dev/null
        base=${url%%\?*}
        echo "${base%/*}/$name?${url#*\?}"
        ;;
    *)
        sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
