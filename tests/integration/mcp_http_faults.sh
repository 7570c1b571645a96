#!/usr/bin/env bash
# Faults of the daemon's own host under real MCP sessions over Streamable
# HTTP, with the official TypeScript SDK client: the scenario starts the
# daemon and does the harm (a full state directory, no file descriptors
# left). With STATE_FS_SIZE set, STATE_DIR is a filesystem of that size of
# its own (an ext4 image, loop-mounted, without reserved blocks) so that a
# scenario can fill it; workspaces and CDMs live beside it. With
# WORKSPACE_FS_SIZE set, WORKSPACE_ROOT is a tmpfs of that size (a scenario
# may remount it larger). Afterwards the
# daemon must have removed every container it created, and no workspace,
# socket directory, mount or loop device may be left.
# Usage: mcp_http_faults.sh OMCP-RPROXY OMCP-CDMGEN SCENARIO.mjs
set -uo pipefail
bin=$1
gen=$2
scenario=$3
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/node
image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}
work=$(mktemp -d /var/tmp/omcp-http-faults-XXXXXX)
label=$work/state

watcher=

cleanup() {
    [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
    ids=$(docker ps -aq --filter "label=org.omcp.pool=$label" 2>/dev/null)
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    findmnt -rn -o TARGET | grep "^$work/" | sort -r | while read -r m; do umount -l "$m"; done
    losetup -j "$work/state.img" -O NAME -n 2>/dev/null | while read -r d; do losetup -d "$d"; done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "SKIP: the pool and the state filesystem need root"; exit 77; }
bash "$src/docker/ensure-dockerd.sh" >/dev/null 2>&1 ||
    { echo "SKIP: no Docker engine and none could be started"; exit 77; }
docker image inspect "$image" >/dev/null 2>&1 || { echo "SKIP: image $image absent"; exit 77; }
command -v node >/dev/null || { echo "FAIL: node is not installed"; exit 1; }
uid=$(id -u omcp-sandbox 2>/dev/null) || { echo "FAIL: no sandbox account omcp-sandbox"; exit 1; }
if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
    (cd "$here" && npm ci --no-audit --no-fund) || { echo "FAIL: npm ci"; exit 1; }
fi

mkdir -p "$work/state" "$work/cdm" "$work/workspaces"
if [ -n "${STATE_FS_SIZE:-}" ]; then
    truncate -s "$STATE_FS_SIZE" "$work/state.img" &&
        mkfs.ext4 -q -F -m 0 -O ^has_journal "$work/state.img" &&
        mount -o loop,nosuid,nodev "$work/state.img" "$work/state" ||
        { echo "SKIP: no loop-mounted filesystem for the state directory"; exit 77; }
    export STATE_FS_DEVICE=$work/state.img
fi
if [ -n "${WORKSPACE_FS_SIZE:-}" ]; then
    mount -t tmpfs -o "size=$WORKSPACE_FS_SIZE,mode=0755,nosuid,nodev" tmpfs "$work/workspaces" ||
        { echo "SKIP: no tmpfs for the workspace root"; exit 77; }
fi
"$gen" --persons 500 --seed 7 --out "$work/cdm/synthetic.sqlite" >/dev/null ||
    { echo "FAIL: omcp-cdmgen"; exit 1; }
chmod 0444 "$work/cdm/synthetic.sqlite"

export STATE_DIR=$work/state WORKSPACE_ROOT=$work/workspaces CDM_DIR=$work/cdm
export SANDBOX_UID=$uid DOCKER_IMAGE=$image LOG_LEVEL=info
export POOL_MIN_IDLE=${POOL_MIN_IDLE:-2} MAX_SANDBOXES=${MAX_SANDBOXES:-4}
# The engine's event stream, watched live: its memory of past events is short.
docker events --filter "label=org.omcp.pool=$label" --filter type=container \
    --format '{{.Action}}' >"$work/events" 2>/dev/null &
watcher=$!
sleep 1
(cd "$here" && timeout 600 node "$scenario" "$bin")
status=$?
sleep 1
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null

# Every container the deployment created was removed by the daemon itself.
created=$(grep -c '^create$' "$work/events")
removed=$(grep -c '^destroy$' "$work/events")
echo "containers created $created, removed $removed"
if [ "$created" -eq 0 ] || [ "$created" -ne "$removed" ]; then
    echo "FAIL: $created containers created, $removed removed"
    status=1
fi
left=$(docker ps -aq --filter "label=org.omcp.pool=$label" | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: $left labelled containers left behind"; status=1; }
for dir in "$work/workspaces" "$work/state/run"; do
    leftover=$(find "$dir" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    [ "$leftover" -eq 0 ] || { echo "FAIL: $leftover entries left in $dir"; status=1; }
done
mounts=$(findmnt -rn -o TARGET | grep "^$work/" | grep -vc "^$work/state$\|^$work/workspaces$")
loops=$(losetup -a | grep "$work/" | grep -vc "$work/state.img")
if [ "$mounts" -ne 0 ] || [ "$loops" -ne 0 ]; then
    echo "FAIL: $mounts workspace mounts and $loops loop devices left behind"
    status=1
fi
exit $status
