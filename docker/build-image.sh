#!/usr/bin/env bash
# Builds the sandbox image without pulling anything: debootstraps a Debian 12
# root with the packages of packages.txt, imports it as the base and builds
# the Dockerfile on top. Skips every step whose result exists already.
#
# Environment:
#   SANDBOX_UID         uid of sandboxuser in the image (required)
#   DOCKER_IMAGE        name to tag (default omcp-r-sandbox:latest); the image
#                       is also tagged <repository>:<input hash>
#   OMCP_DEBIAN_MIRROR  Debian mirror (default: the one apt uses here)
#   OMCP_DEB_CACHE      where downloaded packages are kept between builds
#                       (default /var/cache/omcp-rproxy/debs; empty: none)
# Exit status: 0 image ready, 1 build failed, 2 bad setting, 3 not root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
suite=bookworm
image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}
deb_cache=${OMCP_DEB_CACHE-/var/cache/omcp-rproxy/debs}
work=
step_pid=
started=${EPOCHREALTIME/./}

say() { echo "build-image: $*"; }
die() {
    echo "build-image: $2" >&2
    exit "$1"
}

# Time since $1 (microseconds since the epoch), in seconds.
elapsed() {
    local us=$((${EPOCHREALTIME/./} - $1))
    printf '%d.%01d s' $((us / 1000000)) $((us % 1000000 / 100000))
}

# Runs "$@" as one timed step, its output kept in the work directory and
# shown only when it fails. The step runs in the background so that a
# signal reaches the trap at once instead of after the step.
step() {
    local name=$1 t0=${EPOCHREALTIME/./} log rc=0
    shift
    log=$work/step-$(echo "$name" | tr -c 'a-z0-9\n' '-').log
    say "$name ..."
    "$@" >"$log" 2>&1 &
    step_pid=$!
    wait "$step_pid" || rc=$?
    step_pid=
    if [ "$rc" -ne 0 ]; then
        echo "build-image: $name failed after $(elapsed "$t0"); last lines of its output:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    say "$name done in $(elapsed "$t0")"
}

# Stops an interrupted step and what it started (debootstrap runs dpkg and
# maintainer scripts in the root), then removes the work directory.
cleanup() {
    local m pid
    if [ -n "$step_pid" ]; then
        for pid in $(pgrep -f -- "$work/" || true) "$step_pid"; do
            kill -TERM "$pid" 2>/dev/null || true
        done
        wait "$step_pid" 2>/dev/null || true
        sleep 1
    fi
    [ -n "$work" ] && [ -d "$work" ] || return 0
    # debootstrap mounts /proc and /sys in the root while it configures;
    # an interrupted run can leave them behind.
    for m in $(findmnt -rn -o TARGET | grep -F "$work/" | sort -r || true); do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$work"
}

# The repository part of an image reference (a registry port is not a tag).
image_repo() {
    local ref=$1 last=${1##*/}
    case $last in *:*) echo "${ref%:*}" ;; *) echo "$ref" ;; esac
}

# sha256 over the named files (name and content) and extra strings.
hash_inputs() {
    local f
    {
        for f in "$@"; do
            case $f in
            =*) echo "${f#=}" ;;
            *) echo "$(sha256sum <"$here/$f" | cut -c1-64)  $f" ;;
            esac
        done
    } | sha256sum | cut -c1-16
}

# The Debian mirror apt uses on this host, so the build needs no other.
find_mirror() {
    if [ -n "${OMCP_DEBIAN_MIRROR:-}" ]; then
        echo "$OMCP_DEBIAN_MIRROR"
        return
    fi
    local found
    found=$(awk -v s="$suite" '
        function flush() { if (ok && uri != "") print uri; ok = 0; uri = "" }
        /^[ \t]*$/ { flush(); next }
        tolower($1) == "uris:" { uri = $2 }
        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
        tolower($1) == "enabled:" && tolower($2) == "no" { uri = "" }
        END { flush() }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
    if [ -z "$found" ]; then
        found=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            sed -e 's/\[[^]]*\]//' |
            awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }')
    fi
    echo "${found:-http://deb.debian.org/debian}"
}

# Debian packages already downloaded for the host are reused (hard links).
seed_cache() {
    mkdir -p "$deb_cache"
    cp -ln /var/cache/apt/archives/*.deb "$deb_cache"/ 2>/dev/null || true
}

debootstrap_root() {
    local pkgs cache_opt=()
    pkgs=$(sed -e 's/#.*//' "$here/packages.txt" | xargs | tr ' ' ',')
    [ -n "$deb_cache" ] && cache_opt=(--cache-dir="$deb_cache")
    # dpkg syncs every file it unpacks; a root that is thrown away on
    # failure does not need that (a quarter of the time here).
    mkdir -p "$work/root/etc/dpkg/dpkg.cfg.d"
    echo force-unsafe-io >"$work/root/etc/dpkg/dpkg.cfg.d/omcp-build"
    # One pass: debootstrap resolves and installs the packages with the
    # base system (measured as fast as minbase plus apt-get in the chroot).
    debootstrap --variant=minbase "${cache_opt[@]}" --include="$pkgs" \
        "$suite" "$work/root" "$mirror"
}

# Drops what a sandbox never reads, and the host's files debootstrap copied.
slim_root() {
    local r=$work/root
    rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* \
        "$r"/var/cache/apt/*.bin "$r"/var/log/* "$r"/var/cache/debconf/*-old \
        "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* \
        "$r"/usr/share/locale/* "$r"/usr/share/R/doc/* \
        "$r"/usr/lib/R/library/*/doc "$r"/usr/lib/R/library/*/html \
        "$r"/usr/lib/R/site-library/*/doc "$r"/usr/lib/R/site-library/*/html \
        "$r"/usr/lib/R/site-library/Rserve/libs/Rserve.dbg \
        "$r"/etc/dpkg/dpkg.cfg.d/omcp-build
    : >"$r/etc/resolv.conf"
    : >"$r/etc/hostname"
}

import_root() {
    tar -C "$work/root" --numeric-owner -cf - . | docker import - "$base_ref"
}

build_image() {
    DOCKER_BUILDKIT=0 docker build --build-arg "BASE=$base_ref" \
        --build-arg "SANDBOX_UID=$SANDBOX_UID" --label "org.omcp.inputs=$image_hash" \
        -t "$hash_ref" -t "$image" "$here"
}

# Removes the hash tags of earlier builds of this script. Without --force,
# so an image that a container still uses stays.
prune_old() {
    local ref
    for ref in $( (docker image ls --format '{{.Repository}}:{{.Tag}}' "$repo" &&
        docker image ls --format '{{.Repository}}:{{.Tag}}' "$repo-base") |
        grep -E ':[0-9a-f]{16}$' | grep -vxF -e "$hash_ref" -e "$base_ref" || true); do
        docker rmi "$ref" >/dev/null 2>&1 && say "removed the older $ref" || true
    done
}

case ${SANDBOX_UID:-} in
'') die 2 "SANDBOX_UID is not set (the uid of the dedicated host account, e.g. \$(id -u omcp-sandbox))" ;;
*[!0-9]*) die 2 "SANDBOX_UID must be a number, not '$SANDBOX_UID'" ;;
esac
[ "$SANDBOX_UID" -gt 0 ] || die 2 "SANDBOX_UID must not be 0 (root)"

if ! bash "$here/ensure-dockerd.sh"; then
    [ "$(id -u)" -eq 0 ] || die 3 "no Docker engine for this user; run as root: sudo $0"
    exit 1
fi

repo=$(image_repo "$image")
image_files=(Dockerfile .dockerignore packages.txt build-image.sh)
while IFS= read -r f; do image_files+=("${f#"$here"/}"); done \
    < <(find "$here/omcp" -type f | LC_ALL=C sort)
base_hash=$(hash_inputs packages.txt build-image.sh "=suite $suite")
image_hash=$(hash_inputs "${image_files[@]}" "=base $base_hash" "=uid $SANDBOX_UID")
base_ref=$repo-base:$base_hash
hash_ref=$repo:$image_hash

if docker image inspect "$hash_ref" >/dev/null 2>&1; then
    docker tag "$hash_ref" "$image"
    say "$image -> $hash_ref"
    say "image up to date"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die 3 "building $hash_ref needs root (debootstrap, docker import); run: sudo $0"
command -v debootstrap >/dev/null || die 1 "debootstrap is not installed (apt-get install debootstrap)"

work=$(mktemp -d /var/tmp/omcp-image.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM

if docker image inspect "$base_ref" >/dev/null 2>&1; then
    say "base $base_ref exists"
else
    mirror=$(find_mirror)
    say "debootstrap $suite from $mirror into $work/root"
    [ -n "$deb_cache" ] && seed_cache
    step "debootstrap with packages.txt" debootstrap_root
    step "slim the root" slim_root
    say "root is $(du -sh --apparent-size "$work/root" | cut -f1)"
    step "docker import as $base_ref" import_root
    rm -rf --one-file-system "$work/root"
fi

step "docker build $hash_ref" build_image
prune_old
size=$(docker image inspect -f '{{.Size}}' "$hash_ref")
say "built $hash_ref (also $image), $((size / 1000000)) MB, in $(elapsed "$started")"
