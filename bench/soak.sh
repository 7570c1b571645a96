#!/usr/bin/env bash
# The soak, with its own pool: a state directory, a generated CDM and, at the
# end, no container of its deployment and no workspace left behind.
#
#   bench/soak.sh OMCP-RPROXY OMCP-CDMGEN [SECONDS]    (default 1800)
#
# The rest comes from the environment: SOAK_CLIENTS (4), SOAK_INTERVAL (60),
# SOAK_FAULT_EVERY (180), SOAK_MAX_REQUESTS (5000000), SOAK_TRANSPORT (stdio,
# or http: the daemon is started here with --http on a loopback port and each
# client gets a connection of its own), SOAK_HTTP_PORT (18080). Pool settings
# (MAX_SANDBOXES, POOL_MIN_IDLE, ...) may be set too. Prints one line per
# interval and the checks at the end; exits non-zero when one failed.
set -uo pipefail
bin=$1
gen=$2
seconds=${3:-1800}
src=$(cd "$(dirname "$0")/.." && pwd)
here=$src/tests/node
image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}
clients=${SOAK_CLIENTS:-4}
transport=${SOAK_TRANSPORT:-stdio}
work=$(mktemp -d /var/tmp/omcp-soak-XXXXXX)
label=$work/state
daemon_pid=

cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    ids=$(docker ps -aq --filter "label=org.omcp.pool=$label" 2>/dev/null)
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    # Workspace mounts a daemon could not release (it stopped while the engine was away).
    awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m"; done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] ||
    { echo "SKIP: the pool needs root (slot directories change owner)"; exit 77; }
docker image inspect "$image" >/dev/null 2>&1 || { echo "SKIP: image $image absent"; exit 77; }
command -v node >/dev/null || { echo "FAIL: node is not installed"; exit 1; }
uid=$(id -u omcp-sandbox 2>/dev/null) || { echo "FAIL: no sandbox account omcp-sandbox"; exit 1; }
if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
    (cd "$here" && npm ci --no-audit --no-fund) || { echo "FAIL: npm ci"; exit 1; }
fi

mkdir -p "$work/state/cdm"
"$gen" --persons 2000 --seed 7 --out "$work/state/cdm/synthetic.sqlite" >/dev/null ||
    { echo "FAIL: omcp-cdmgen"; exit 1; }
chmod 0444 "$work/state/cdm/synthetic.sqlite"

export STATE_DIR=$work/state SANDBOX_UID=$uid DOCKER_IMAGE=$image
export MAX_SANDBOXES=${MAX_SANDBOXES:-$((clients + 2))} POOL_MIN_IDLE=${POOL_MIN_IDLE:-2}
export LOG_LEVEL=${LOG_LEVEL:-info}
# No listener unless the HTTP transport asks for one: no port shared with another daemon.
export QAP_LISTEN= HTTP_LISTEN=
args=(--seconds "$seconds" --clients "$clients" --interval "${SOAK_INTERVAL:-60}"
      --fault-every "${SOAK_FAULT_EVERY:-180}" --max-requests "${SOAK_MAX_REQUESTS:-5000000}")
# ASan keeps freed memory in quarantine, so an ASan build's RSS grows by design.
if grep -qa '__asan_init' "$bin"; then
    args+=(--rss-unjudged "an ASan build: freed memory stays in its quarantine")
fi

if [ "$transport" = http ]; then
    port=${SOAK_HTTP_PORT:-18080}
    "$bin" --http "127.0.0.1:$port" --set HTTP_LISTEN="127.0.0.1:$port" 2>"$work/daemon.log" &
    daemon_pid=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.3
    done
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 ||
        { echo "SKIP: the daemon does not answer HTTP on 127.0.0.1:$port"; exit 77; }
    args+=(--transport http --url "http://127.0.0.1:$port/mcp" --pid "$daemon_pid")
else
    args+=(--transport stdio --daemon "$bin")
fi

(cd "$here" && timeout $((seconds + 300)) node soak.mjs "${args[@]}")
status=$?

if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null
    wait "$daemon_pid" 2>/dev/null
    daemon_pid=
    if grep -q 'level=error' "$work/daemon.log"; then
        echo "FAIL: level=error in the daemon log"
        status=1
    fi
fi
# The daemon removes its containers as it stops, after the client is gone.
for _ in $(seq 100); do
    left=$(docker ps -aq --filter "label=org.omcp.pool=$label" | wc -l)
    [ "$left" -eq 0 ] && break
    sleep 0.2
done
if [ "$left" -ne 0 ]; then
    echo "FAIL: $left labelled containers left behind after the daemon stopped"
    status=1
else
    echo "ok   no labelled container left after the daemon stopped"
fi
leftover=$(find "$work/state/workspaces" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
if [ "$leftover" -ne 0 ]; then
    echo "FAIL: $leftover workspace directories left behind"
    status=1
fi
exit $status
