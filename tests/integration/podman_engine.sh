#!/usr/bin/env bash
# The Docker client and the warm pool against Podman's Docker-compatible API:
# starts `podman system service` as root on a socket of its own, copies the
# sandbox image and the busybox test image from dockerd into Podman's storage
# when Podman lacks them or holds older ones, runs docker_engine and
# pool_engine with DOCKER_HOST pointing at Podman, and on every exit removes
# what the tests created and stops the service.
#   podman_engine.sh DOCKER_ENGINE_BIN POOL_ENGINE_BIN
set -uo pipefail
docker_engine=$1
pool_engine=$2
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}
busybox=omcp-test-busybox:latest
service=

[ -x "$(command -v podman)" ] ||
    { echo "SKIP: podman is not installed (apt-get install podman)"; exit 77; }
[ "$(id -u)" -eq 0 ] ||
    { echo "FAIL: the Podman test needs root (rootful service, workspaces)"; exit 1; }

work=$(mktemp -d /var/tmp/omcp-podman-test-XXXXXX)
run=$(mktemp -d /run/omcp-podman-XXXXXX)
sock=$run/podman.sock
label=$work/state
label_docker=omcp-podman-docker-test-$$

stop_service() {
    [ -n "$service" ] || return 0
    kill "$service" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$service" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$service" 2>/dev/null
    wait "$service" 2>/dev/null
    service=
}

cleanup() {
    for l in "$label" "$label_docker"; do
        ids=$(podman ps -aq --filter "label=org.omcp.pool=$l" 2>/dev/null)
        [ -n "$ids" ] && podman rm -f $ids >/dev/null 2>&1
    done
    stop_service
    findmnt -rn -o TARGET | grep "^$work/" | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf --one-file-system "$work" "$run"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Podman gives a rootful container RLIMIT_NOFILE and RLIMIT_NPROC of 1048576
# unless containers.conf says otherwise; raising a hard limit needs
# CAP_SYS_RESOURCE, and where root lacks it (root inside a container or a
# confined VM) every start fails with "error setting rlimit ... operation not
# permitted". There containers get the service's own limits, as Docker's do.
conf=$work/containers.conf
printf '[containers]\n' >"$conf"
cap_sys_resource=$((0x$(awk '/^CapEff/ {print $2}' /proc/self/status) >> 24 & 1))

start_service() {
    CONTAINERS_CONF=$conf podman system service --time=0 "unix://$sock" \
        >>"$work/podman-service.log" 2>&1 &
    service=$!
    for _ in $(seq 100); do
        [ -S "$sock" ] && curl -sf --unix-socket "$sock" http://d/_ping >/dev/null && return 0
        kill -0 "$service" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: podman system service did not answer on $sock; its log:"
    tail -n 20 "$work/podman-service.log"
    exit 1
}

limit_of() { # the hard limit named $2 of process $1
    awk -v what="$2" 'index($0, what) == 1 { print $(NF - 1) }' "/proc/$1/limits"
}

start_service
if [ "$cap_sys_resource" -eq 0 ]; then
    nofile=$(limit_of "$service" "Max open files")
    nproc=$(limit_of "$service" "Max processes")
    stop_service
    printf 'default_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
        "$nofile" "$nofile" "$nproc" "$nproc" >>"$conf"
    echo "root lacks CAP_SYS_RESOURCE: containers get nofile=$nofile nproc=$nproc"
    start_service
fi
echo "podman $(podman version --format '{{.Server.Version}}' 2>/dev/null) serving on $sock"

# Podman's storage is its own: copy an image from dockerd when Podman lacks it
# or holds another build of it; the build it replaces is removed.
copy_image() {
    local name=$1 want have
    want=$(docker image inspect --format '{{.Id}}' "$name" 2>/dev/null | sed 's/^sha256://')
    have=$(podman image inspect --format '{{.Id}}' "$name" 2>/dev/null)
    if [ -n "$have" ] && { [ -z "$want" ] || [ "$want" = "$have" ]; }; then
        return 0
    fi
    [ -n "$want" ] || { echo "FAIL: image $name is neither in Podman nor in dockerd"; exit 1; }
    local t0=$SECONDS
    docker save "$name" | podman load -q >/dev/null ||
        { echo "FAIL: could not copy $name from dockerd into Podman"; exit 1; }
    [ -n "$have" ] && podman rmi "$have" >/dev/null 2>&1
    echo "copied $name from dockerd into Podman in $((SECONDS - t0)) s"
}
if docker version >/dev/null 2>&1; then
    "$src/tests/integration/docker_image.sh" "$busybox" >/dev/null ||
        { echo "FAIL: could not build $busybox"; exit 1; }
fi
copy_image "$image"
copy_image "$busybox"

uid=${SANDBOX_UID:-$(id -u omcp-sandbox 2>/dev/null)} ||
    { echo "FAIL: no sandbox account"; exit 1; }
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 not installed"; exit 1; }
mkdir -p "$work/cdm" "$work/docker"
sqlite3 "$work/cdm/test.sqlite" 'PRAGMA journal_mode=DELETE;
    CREATE TABLE person (person_id INTEGER PRIMARY KEY, year_of_birth INTEGER);
    INSERT INTO person VALUES (1, 1950), (2, 1960), (3, 1970);' >/dev/null
chmod 0444 "$work/cdm/test.sqlite"

export DOCKER_HOST=unix://$sock
status=0
echo "== docker_engine against Podman"
"$docker_engine" life "$busybox" "$label_docker" "$work/docker" || status=1
echo "== pool_engine against Podman"
"$pool_engine" "$image" "$uid" "$work" || status=1

for l in "$label" "$label_docker"; do
    left=$(podman ps -aq --filter "label=org.omcp.pool=$l" | wc -l)
    if [ "$left" -ne 0 ]; then
        echo "FAIL: $left containers labelled $l left behind"
        status=1
    fi
done
mounts=$(findmnt -rn -o TARGET | grep -c "^$work/")
loops=$(losetup -a | grep -c "$work/")
if [ "$mounts" -ne 0 ] || [ "$loops" -ne 0 ]; then
    echo "FAIL: $mounts workspace mounts and $loops loop devices left behind"
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "last lines of the Podman service's log:"
    tail -n 20 "$work/podman-service.log"
fi
exit $status
