#!/usr/bin/env bash
# The warm pool against the real engine and the sandbox image. Builds a tiny
# CDM, runs tests/integration/pool_engine.c, and checks that no container of
# the test's deployment label, no workspace mount and no loop device of its
# workspace images is left behind.
set -uo pipefail
bin=$1
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}
work=$(mktemp -d /var/tmp/omcp-pool-test-XXXXXX)
label=$work/state

cleanup() {
    ids=$(docker ps -aq --filter "label=org.omcp.pool=$label" 2>/dev/null)
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    findmnt -rn -o TARGET | grep "^$work/" | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "SKIP: the pool test needs root (slot directories change owner)"; exit 77; }
bash "$src/docker/ensure-dockerd.sh" >/dev/null 2>&1 ||
    { echo "SKIP: no Docker engine and none could be started"; exit 77; }
docker image inspect "$image" >/dev/null 2>&1 || { echo "SKIP: image $image absent"; exit 77; }
uid=${SANDBOX_UID:-$(id -u omcp-sandbox 2>/dev/null)} || { echo "FAIL: no sandbox account"; exit 1; }
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 not installed"; exit 1; }

mkdir -p "$work/cdm"
sqlite3 "$work/cdm/test.sqlite" 'PRAGMA journal_mode=DELETE;
    CREATE TABLE person (person_id INTEGER PRIMARY KEY, year_of_birth INTEGER);
    INSERT INTO person VALUES (1, 1950), (2, 1960), (3, 1970);' >/dev/null
chmod 0444 "$work/cdm/test.sqlite"

"$bin" "$image" "$uid" "$work"
status=$?

left=$(docker ps -aq --filter "label=org.omcp.pool=$label" | wc -l)
if [ "$left" -ne 0 ]; then
    echo "FAIL: $left labelled containers left behind"
    status=1
fi
mounts=$(findmnt -rn -o TARGET | grep -c "^$work/")
loops=$(losetup -a | grep -c "$work/")
if [ "$mounts" -ne 0 ] || [ "$loops" -ne 0 ]; then
    echo "FAIL: $mounts workspace mounts and $loops loop devices left behind"
    status=1
fi
exit $status
