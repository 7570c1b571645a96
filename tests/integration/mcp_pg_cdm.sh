#!/usr/bin/env bash
# A CDM on PostgreSQL through a real pool and MCP: a throwaway CDM cluster
# made by bench/pg-cdm.sh (own directory, own socket directory, removed at
# the end) holds a generated CDM that is also served as SQLite; the SDK
# scenario tests/node/stdio_pg_cdm.mjs compares the engines and attacks the
# read-only path. Skips only when PostgreSQL's server programs are absent.
# Usage: mcp_pg_cdm.sh OMCP-RPROXY OMCP-CDMGEN
set -uo pipefail
bin=$1
gen=$2
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/node
image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}

missing=
for program in initdb pg_ctl postgres; do
    ls /usr/lib/postgresql/*/bin/$program >/dev/null 2>&1 || command -v $program >/dev/null ||
        missing="$missing $program"
done
[ -z "$missing" ] || { echo "SKIP: PostgreSQL's server programs are absent:$missing"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the pool and the cluster's set-up need root"; exit 77; }
bash "$src/docker/ensure-dockerd.sh" >/dev/null 2>&1 ||
    { echo "SKIP: no Docker engine and none could be started"; exit 77; }
docker image inspect "$image" >/dev/null 2>&1 || { echo "SKIP: image $image absent"; exit 77; }
for tool in node sqlite3 psql; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
uid=$(id -u omcp-sandbox 2>/dev/null) || { echo "FAIL: no sandbox account omcp-sandbox"; exit 1; }
if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
    (cd "$here" && npm ci --no-audit --no-fund) || { echo "FAIL: npm ci"; exit 1; }
fi

work=$(mktemp -d /var/tmp/omcp-pg-test-XXXXXX)
chmod 0755 "$work" # the postgres account reaches its cluster through it
label=$work/state
export PG_CDM_DIR=$work/pg CDM_DIR=$work/state/cdm DB_PORT=$((20000 + $$ % 20000))
cleanup() {
    ids=$(docker ps -aq --filter "label=org.omcp.pool=$label" 2>/dev/null)
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    bash "$src/bench/pg-cdm.sh" stop >/dev/null 2>&1
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# The loader's password: the daemon is given it too, and the scenario
# checks that no sandbox ever sees it.
DB_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export DB_PASSWORD
mkdir -p "$CDM_DIR"
"$gen" --persons 2000 --seed 7 --out "$CDM_DIR/synthetic.sqlite" >/dev/null ||
    { echo "FAIL: omcp-cdmgen"; exit 1; }
chmod 0444 "$CDM_DIR/synthetic.sqlite"
bash "$src/bench/pg-cdm.sh" init >/dev/null || { echo "FAIL: pg-cdm.sh init"; exit 1; }
bash "$src/bench/pg-cdm.sh" load synthetic_pg "$CDM_DIR/synthetic.sqlite" | tail -n 1 ||
    { echo "FAIL: pg-cdm.sh load"; exit 1; }

export STATE_DIR=$work/state SANDBOX_UID=$uid DOCKER_IMAGE=$image DB_HOST=$PG_CDM_DIR/socket
# Three warm slots: the three sessions the scenario opens at once never wait
# for a container start, which takes long on a loaded machine.
export CDM_DEFAULT=synthetic_pg POOL_MIN_IDLE=3 MAX_SANDBOXES=4 POOL_ACQUIRE_TIMEOUT=120
# MCP over stdio only: no listener to collide with another daemon's.
export LOG_LEVEL=info HTTP_LISTEN= QAP_LISTEN=
(cd "$here" && timeout 400 node stdio_pg_cdm.mjs "$bin" "$src/bench/omop/analyses" \
    "$src/bench/pg-cdm.sh")
status=$?

for _ in $(seq 50); do
    left=$(docker ps -aq --filter "label=org.omcp.pool=$label" | wc -l)
    [ "$left" -eq 0 ] && break
    sleep 0.2
done
if [ "$left" -ne 0 ]; then
    echo "FAIL: $left labelled containers left behind"
    status=1
fi
exit $status
