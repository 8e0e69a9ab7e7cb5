# shellcheck shell=bash
# Loopback ports for the service scripts (sourced, not run): the tests' servers take ports in
# 20000-31999, below Linux's ephemeral range, so a client's outgoing port never takes one.

# True when nothing listens on 127.0.0.1:PORT.
port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a free port (another process may still take it before it is bound: callers retry).
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 12000))
        port_free "$port" && { echo "$port"; return; }
    done
}
