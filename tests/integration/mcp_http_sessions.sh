#!/usr/bin/env bash
# Real R sessions over MCP Streamable HTTP with the official TypeScript SDK
# client: the daemon on 127.0.0.1 at a free port with a warm pool of hardened
# containers and a generated CDM, two bearer-token identities, the
# listener's refusals, metrics, DELETE and a draining SIGTERM; afterwards no
# container of the test's deployment and no workspace is left behind.
# Usage: mcp_http_sessions.sh OMCP-RPROXY OMCP-CDMGEN [SCENARIO.mjs]
set -uo pipefail
bin=$1
gen=$2
scenario=${3:-http_sessions.mjs}
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/node
image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}
work=$(mktemp -d /var/tmp/omcp-http-test-XXXXXX)
label=$work/state

cleanup() {
    ids=$(docker ps -aq --filter "label=org.omcp.pool=$label" 2>/dev/null)
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "SKIP: the pool needs root (slot directories change owner)"; exit 77; }
bash "$src/docker/ensure-dockerd.sh" >/dev/null 2>&1 ||
    { echo "SKIP: no Docker engine and none could be started"; exit 77; }
docker image inspect "$image" >/dev/null 2>&1 || { echo "SKIP: image $image absent"; exit 77; }
command -v node >/dev/null || { echo "FAIL: node is not installed"; exit 1; }
uid=$(id -u omcp-sandbox 2>/dev/null) || { echo "FAIL: no sandbox account omcp-sandbox"; exit 1; }
if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
    (cd "$here" && npm ci --no-audit --no-fund) || { echo "FAIL: npm ci"; exit 1; }
fi

mkdir -p "$work/state/cdm"
"$gen" --persons 500 --seed 7 --out "$work/state/cdm/synthetic.sqlite" >/dev/null ||
    { echo "FAIL: omcp-cdmgen"; exit 1; }
chmod 0444 "$work/state/cdm/synthetic.sqlite"

export STATE_DIR=$work/state SANDBOX_UID=$uid DOCKER_IMAGE=$image
export POOL_MIN_IDLE=3 MAX_SANDBOXES=6 LOG_LEVEL=info
(cd "$here" && timeout 400 node "$scenario" "$bin" "$work/state/cdm/synthetic.sqlite")
status=$?

# The daemon removed its containers before it exited; nothing may be left.
left=$(docker ps -aq --filter "label=org.omcp.pool=$label" | wc -l)
if [ "$left" -ne 0 ]; then
    echo "FAIL: $left labelled containers left behind"
    status=1
fi
leftover=$(find "$work/state/workspaces" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
if [ "$leftover" -ne 0 ]; then
    echo "FAIL: $leftover workspace directories left behind"
    status=1
fi
exit $status
