#!/usr/bin/env bash
# Profiles the program on the cached catalog list with perf while wrk loads it, and draws a flame
# graph (bench/flamegraph.py) of where the server's CPU time goes.
#
#   bench/profile.sh BINARY DATA_DIR OUT.svg "TITLE"
#
# DATA_DIR is a seeded shop (`emporium seed --products 100000`); the server runs as shipped but for
# the per-address limits (all load comes from one address), like `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1
DATA=$2
OUT=$3
TITLE=$4
PORT=${PROFILE_PORT:-18280}
INTERNAL=${PROFILE_INTERNAL_PORT:-18290}
CONNS=${PROFILE_CONNECTIONS:-100}
SECONDS_RECORDED=${PROFILE_SECONDS:-10}
WORK=$(mktemp -d /tmp/emporium-profile.XXXXXX)
ulimit -n 20000
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve --data-dir "$DATA" --bind 127.0.0.1 --port "$PORT" --internal-port "$INTERNAL" \
    --rate-limit 0 --max-connections-per-address 100000 2> "$WORK/server.log" &
server_pid=$!
for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$INTERNAL/readyz" && break; sleep 0.1; done
# A new shop takes its first backup as it starts (a minute of gzip for 100,000 products): wait
# for it (180 s at most), so that the profile shows serving, not start-up.
for _ in $(seq 1800); do
    grep -q '"backup taken"' "$WORK/server.log" && break
    sleep 0.1
done
url="http://127.0.0.1:$PORT/api/products?per_page=24&page=3&sort=price_asc"
curl -fs -o /dev/null "$url"
wrk -t2 -c"$CONNS" -d2s "$url" > /dev/null
wrk -t2 -c"$CONNS" -d"$((SECONDS_RECORDED + 2))s" --latency "$url" > "$WORK/wrk.txt" &
wrk_pid=$!
sleep 1
perf record -F 499 --call-graph dwarf,16384 -p "$server_pid" -o "$WORK/perf.data" -- sleep "$SECONDS_RECORDED" \
    2> "$WORK/perf.log" > /dev/null
wait "$wrk_pid"
if grep -qE "Non-2xx|Socket errors" "$WORK/wrk.txt"; then
    cat "$WORK/wrk.txt" >&2
    echo "profile: the program answered non-2xx (or failed sockets) under load" >&2
    exit 1
fi
rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
perf script -i "$WORK/perf.data" 2> /dev/null |
    python3 bench/flamegraph.py --title "$TITLE" \
        --subtitle "GET /api/products?per_page=24&page=3&sort=price_asc (cached), wrk -t2 -c$CONNS, $rps req/s while recorded; $(date -u +%Y-%m-%d), load average $(cut -d' ' -f1-3 /proc/loadavg)" \
        --write-folded "${OUT%.svg}.folded" > "$OUT"
echo "profile: $OUT ($rps req/s)"
