#!/usr/bin/env bash
# The Docker client against the real engine: a hardened container's life and
# its events, using a tiny busybox image built offline. Everything it creates
# carries a label of its own and is removed at the end.
set -uo pipefail
bin=$1
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
image=omcp-test-busybox:latest
pool=omcp-docker-test-$$
work=$(mktemp -d /tmp/omcp-docker-test-XXXXXX)

cleanup() {
    ids=$(docker ps -aq --filter "label=org.omcp.pool=$pool" 2>/dev/null)
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

bash "$src/docker/ensure-dockerd.sh" >/dev/null 2>&1 ||
    { echo "SKIP: no Docker engine and none could be started"; exit 77; }
"$src/tests/integration/docker_image.sh" "$image" || exit 1

"$bin" life "$image" "$pool" "$work"
status=$?

left=$(docker ps -aq --filter "label=org.omcp.pool=$pool" | wc -l)
if [ "$left" -ne 0 ]; then
    echo "FAIL: $left labelled containers left behind"
    status=1
fi
exit $status
