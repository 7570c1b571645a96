#!/usr/bin/env bash
# Real R sessions over MCP stdio with the official TypeScript SDK client: a
# warm pool of hardened containers, a generated CDM, and afterwards no
# container of the test's deployment and no workspace, workspace mount or
# loop device left behind.
# Usage: mcp_stdio_sessions.sh OMCP-RPROXY OMCP-CDMGEN [SCENARIO.mjs]
# (tests/node/stdio_sessions.mjs unless named; extra settings come from the
# environment, e.g. INTERRUPT_GRACE_SECS for the fault scenario).
set -uo pipefail
bin=$1
gen=$2
scenario=${3:-stdio_sessions.mjs}
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/node
image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}
work=$(mktemp -d /var/tmp/omcp-mcp-test-XXXXXX)
label=$work/state

cleanup() {
    ids=$(docker ps -aq --filter "label=org.omcp.pool=$label" 2>/dev/null)
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    findmnt -rn -o TARGET | grep "^$work/" | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "SKIP: the pool needs root (slot directories change owner)"; exit 77; }
bash "$src/docker/ensure-dockerd.sh" >/dev/null 2>&1 ||
    { echo "SKIP: no Docker engine and none could be started"; exit 77; }
docker image inspect "$image" >/dev/null 2>&1 || { echo "SKIP: image $image absent"; exit 77; }
for tool in node sqlite3 xxhsum; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
uid=$(id -u omcp-sandbox 2>/dev/null) || { echo "FAIL: no sandbox account omcp-sandbox"; exit 1; }
# The engine scenario stops dockerd: only one that keeps containers running
# across that (--live-restore, as docker/ensure-dockerd.sh starts it) may be.
if [ "$scenario" = stdio_engine.mjs ] &&
    [ "$(docker info -f '{{.LiveRestoreEnabled}}' 2>/dev/null)" != true ]; then
    echo "SKIP: the running dockerd has no --live-restore; stopping it would kill every container"
    exit 77
fi
if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
    (cd "$here" && npm ci --no-audit --no-fund) || { echo "FAIL: npm ci"; exit 1; }
fi

mkdir -p "$work/state/cdm"
"$gen" --persons 2000 --seed 7 --out "$work/state/cdm/synthetic.sqlite" >/dev/null ||
    { echo "FAIL: omcp-cdmgen"; exit 1; }
chmod 0444 "$work/state/cdm/synthetic.sqlite"

export STATE_DIR=$work/state SANDBOX_UID=$uid DOCKER_IMAGE=$image
export POOL_MIN_IDLE=2 MAX_SANDBOXES=4 LOG_LEVEL=info
# Only the stdio client: no listener that could meet another daemon's port.
export HTTP_LISTEN= QAP_LISTEN=
export MAX_FILE_WRITE_BYTES=${MAX_FILE_WRITE_BYTES:-2000000} MAX_FILE_READ_BYTES=${MAX_FILE_READ_BYTES:-2000000}
(cd "$here" && timeout 400 node "$scenario" "$bin" "$work/state/cdm/synthetic.sqlite")
status=$?

# The daemon removes its containers as it stops, after the client is gone.
for _ in $(seq 50); do
    left=$(docker ps -aq --filter "label=org.omcp.pool=$label" | wc -l)
    [ "$left" -eq 0 ] && break
    sleep 0.2
done
if [ "$left" -ne 0 ]; then
    echo "FAIL: $left labelled containers left behind"
    status=1
fi
leftover=$(find "$work/state/workspaces" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
if [ "$leftover" -ne 0 ]; then
    echo "FAIL: $leftover workspace directories left behind"
    status=1
fi
mounts=$(findmnt -rn -o TARGET | grep -c "^$work/")
loops=$(losetup -a | grep -c "$work/")
if [ "$mounts" -ne 0 ] || [ "$loops" -ne 0 ]; then
    echo "FAIL: $mounts workspace mounts and $loops loop devices left behind"
    status=1
fi
exit $status
