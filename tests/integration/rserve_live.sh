#!/usr/bin/env bash
# The Rserve client and codec against Debian's Rserve on the host: two
# throwaway servers on unix sockets in a temporary directory, one open and
# one that requires a crypt(3) login, both stopped and removed on exit.
# Usage: rserve_live.sh RSERVE_LIVE_BINARY
set -uo pipefail
bin=$1
work=$(mktemp -d /tmp/omcp-rserve-test-XXXXXX)
pgids=()

# The connections a server forked go first, while the server still lives to
# reap them; then the server itself.
stop_rserve() {
    local leader=$1 pids
    for _ in $(seq 50); do
        pids=$(pgrep -g "$leader" | grep -vx "$leader")
        [ -z "$pids" ] && break
        kill -TERM $pids 2>/dev/null
        sleep 0.1
    done
    kill -TERM "$leader" 2>/dev/null
    wait "$leader" 2>/dev/null
}

cleanup() {
    for g in "${pgids[@]}"; do
        stop_rserve "$g"
    done
    rm -rf "$work"
}
trap cleanup EXIT

rserve=$(Rscript -e 'cat(system.file("libs", "Rserve", package = "Rserve"))' 2>/dev/null)
[ -n "$rserve" ] && [ -x "$rserve" ] || { echo "SKIP: Rserve is not installed"; exit 77; }

# Writes the configuration of one server; extra lines follow the common ones.
write_conf() {
    local name=$1
    shift
    {
        echo "socket $work/$name.sock"
        echo "sockmod 0600"
        echo "remote disable"
        echo "daemon disable"
        echo "encoding utf8"
        echo "oob enable"
        printf '%s\n' "$@"
    } >"$work/$name.conf"
}

# Starts a server in a session of its own, so that the connections it forks
# belong to its process group and leave with it.
start_rserve() {
    local name=$1
    LANG=C.UTF-8 setsid R CMD "$rserve" --no-save --RS-conf "$work/$name.conf" \
        >"$work/$name.log" 2>&1 </dev/null &
    pgids+=($!)
}

# Waits up to 30 s for a server's socket to appear.
await_socket() {
    local name=$1 pid=$2
    for _ in $(seq 300); do
        [ -S "$work/$name.sock" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: Rserve $name did not start"
    cat "$work/$name.log"
    return 1
}

user=omcp
password="pw-$$-$RANDOM"
printf '%s %s\n' "$user" "$password" >"$work/users"
chmod 0600 "$work/users"
write_conf open "auth disable"
# Rserve before 1.8-12 passes crypt(3) a salt with a trailing blank, which
# libxcrypt rejects, so it refuses every crypt login: such a server gets
# plain-text login as well, and the client takes that.
plaintext=disable
Rscript -e 'q(status = packageVersion("Rserve") < "1.8-12")' >/dev/null 2>&1 || {
    plaintext=enable
    echo "note: Rserve $(Rscript -e 'cat(format(packageVersion("Rserve")))') cannot check" \
        "crypt(3) logins; the login is tested in plain text"
}
write_conf auth "auth required" "plaintext $plaintext" "pwdfile $work/users"
start_rserve open
start_rserve auth
await_socket open "${pgids[0]}" || exit 1
await_socket auth "${pgids[1]}" || exit 1

"$bin" "$work/open.sock" "$work/auth.sock" "$user" "$password"
status=$?
[ "$status" -eq 0 ] || sed 's/^/rserve: /' "$work/open.log" "$work/auth.log"
exit $status
