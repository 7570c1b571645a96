#!/usr/bin/env bash
# Real Rserve clients against the QAP1 front end: a warm pool of hardened
# containers, the daemon listening on loopback TCP and on a unix socket, one
# scenario run against it, then SIGTERM and afterwards no container of the
# test's deployment and no workspace left behind.
# Usage: qap_clients.sh OMCP-RPROXY OMCP-CDMGEN SCENARIO [ARGS...]
# The scenario runs with QAP_PORT, QAP_SOCKET, QAP_LOG (the daemon's log) and
# QAP_WORK in its environment; settings for the daemon (MAX_SANDBOXES,
# QAP_REQUEST_TIMEOUT, ...) come from the environment of this script.
set -uo pipefail
bin=$1
gen=$2
shift 2
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}
work=$(mktemp -d /var/tmp/omcp-qap-test-XXXXXX)
label=$work/state
daemon=

cleanup() {
    [ -n "$daemon" ] && kill -KILL "$daemon" 2>/dev/null
    ids=$(docker ps -aq --filter "label=org.omcp.pool=$label" 2>/dev/null)
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the pool needs root (slot directories change owner)"
    exit 77
fi
bash "$src/docker/ensure-dockerd.sh" >/dev/null 2>&1 ||
    { echo "SKIP: no Docker engine and none could be started"; exit 77; }
docker image inspect "$image" >/dev/null 2>&1 || { echo "SKIP: image $image absent"; exit 77; }
uid=$(id -u omcp-sandbox 2>/dev/null) || { echo "FAIL: no sandbox account omcp-sandbox"; exit 1; }

mkdir -p "$work/state/cdm"
"$gen" --persons 2000 --seed 7 --out "$work/state/cdm/synthetic.sqlite" >/dev/null ||
    { echo "FAIL: omcp-cdmgen"; exit 1; }
chmod 0444 "$work/state/cdm/synthetic.sqlite"

# A password file for the login scenarios: one user, a salted SHA-512 hash.
if [ -n "${QAP_TEST_PASSWORD:-}" ]; then
    printf '# QAP1 users\n%s:%s\n' "$QAP_TEST_USER" "$(openssl passwd -6 "$QAP_TEST_PASSWORD")" \
        >"$work/passwords"
    chmod 0600 "$work/passwords"
    export QAP_PASSWORD_FILE=$work/passwords
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
export STATE_DIR=$work/state SANDBOX_UID=$uid DOCKER_IMAGE=$image HTTP_LISTEN=
export POOL_MIN_IDLE=${POOL_MIN_IDLE:-2} MAX_SANDBOXES=${MAX_SANDBOXES:-3}
export LOG_LEVEL=${LOG_LEVEL:-info} POOL_ACQUIRE_TIMEOUT=${POOL_ACQUIRE_TIMEOUT:-120}
export QAP_PORT=$port QAP_SOCKET=$work/qap.sock QAP_LOG=$work/daemon.log QAP_WORK=$work

(
    [ -n "${QAP_TEST_NOFILE:-}" ] && ulimit -n "$QAP_TEST_NOFILE"
    exec "$bin" --qap "127.0.0.1:$port" --qap "unix:$QAP_SOCKET"
) >"$QAP_LOG" 2>&1 &
daemon=$!

# Ready once the warm target is reached.
for _ in $(seq 600); do
    warm=$(grep -c 'msg="warm"' "$QAP_LOG")
    [ "$warm" -ge "$POOL_MIN_IDLE" ] && break
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.2
done
if [ "$warm" -lt "$POOL_MIN_IDLE" ]; then
    echo "FAIL: the pool did not get warm"
    tail -30 "$QAP_LOG"
    exit 1
fi

timeout 600 "$@"
status=$?

kill -TERM "$daemon"
for _ in $(seq 300); do
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.2
done
if kill -0 "$daemon" 2>/dev/null; then
    echo "FAIL: the daemon did not stop on SIGTERM"
    status=1
fi
wait "$daemon"
rc=$?
daemon=
[ "$rc" -eq 0 ] || { echo "FAIL: the daemon exited with $rc"; status=1; }
if ! grep -q 'front_end=qap1 msg="closed"' "$QAP_LOG"; then
    echo "FAIL: no close of the front end"
    status=1
fi
if grep -qi 'password=' "$QAP_LOG" ||
    { [ -n "${QAP_TEST_PASSWORD:-}" ] && grep -qF "$QAP_TEST_PASSWORD" "$QAP_LOG"; }; then
    echo "FAIL: a password reached the log"
    status=1
fi
left=$(docker ps -aq --filter "label=org.omcp.pool=$label" | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: $left labelled containers left behind"; status=1; }
leftover=$(find "$work/state/workspaces" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
[ "$leftover" -eq 0 ] || { echo "FAIL: $leftover workspace directories left behind"; status=1; }
[ -e "$QAP_SOCKET" ] && { echo "FAIL: the unix listener's socket was left behind"; status=1; }
if [ "$status" -ne 0 ]; then
    echo "--- daemon log (last 40 lines)"
    tail -40 "$QAP_LOG"
fi
exit $status
