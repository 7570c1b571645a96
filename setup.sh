#!/usr/bin/env bash
# Sets up a Debian 12 machine for omcp-rproxy and then runs it or its tests.
#
#   sudo ./setup.sh run [DAEMON-ARGS...]   set up, build, run the daemon on loopback
#   sudo ./setup.sh test                   set up, then every test suite (tests/run.sh)
#   sudo ./setup.sh prepare                set up and build only
#
# Set-up is idempotent: it installs only missing Debian packages, reuses a
# running Docker engine (or starts dockerd --live-restore), creates the host
# account of the sandbox uid once, builds the sandbox image only when its
# inputs changed, and generates the embedded CDM only when it is absent.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

sandbox_user=omcp-sandbox
state_dir=${STATE_DIR:-/var/lib/omcp-rproxy}
build_dir=${OMCP_BUILD_DIR:-$here/build}
cdm_persons=${OMCP_CDM_PERSONS:-10000}
cdm_seed=${OMCP_CDM_SEED:-42}

# What the build, the image build and the tests need from Debian. npm is not
# here on purpose: Node.js comes with the machine and Debian's npm conflicts.
build_packages=(build-essential cmake pkg-config libev-dev libmsgpack-dev libcurl4-openssl-dev
                libarchive-dev libxxhash-dev libinih-dev libjansson-dev libsqlite3-dev
                libhttp-parser-dev)
engine_packages=(docker.io debootstrap e2fsprogs)
test_packages=(clang clang-format libclang-rt-14-dev python3 sqlite3 xxhash busybox-static iproute2
               mount r-base-core r-cran-rserve r-cran-rsclient r-cran-dbi r-cran-rsqlite
               r-cran-jsonlite r-cran-bit64 postgresql
               openjdk-17-jdk-headless podman)

started=$SECONDS
step() { printf '\n== [%4ds] %s\n' $((SECONDS - started)) "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

require_root() {
    [ "$(id -u)" -eq 0 ] && return
    cat >&2 <<EOF
setup: this step needs root: it installs Debian packages, starts dockerd,
creates the host account '$sandbox_user' for the sandbox uid and builds the
sandbox image. Run it as root, for example:

    sudo $0 ${1:-run}

Without root, build and run by hand (see README.md, "Building by hand").
EOF
    exit 1
}

missing_packages() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' ||
            echo "$pkg"
    done
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all ${#} Debian packages present"
        return
    fi
    echo "installing ${#missing[@]} Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The sandbox uid needs a host account of its own: PostgreSQL's peer
# authentication sees it, and file ownership on the host must not name a
# person. uid 1000 is used when free, as in the reference; otherwise a
# system uid is chosen.
ensure_sandbox_account() {
    if ! id "$sandbox_user" >/dev/null 2>&1; then
        if getent passwd 1000 >/dev/null; then
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$sandbox_user"
        else
            useradd --uid 1000 --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$sandbox_user"
        fi
    fi
    SANDBOX_UID=$(id -u "$sandbox_user")
    export SANDBOX_UID
    echo "sandbox account $sandbox_user has uid $SANDBOX_UID"
}

build() {
    cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build_dir" -j "$(nproc)"
}

# The CDMs every slot mounts read-only: the generated default (synthetic) and,
# when ../shared/omop holds the OHDSI extracts, synthea27nj and gibleed. Each
# is built once; the tools write beside the target and rename into place.
generate_cdm() {
    local gen=$build_dir/bench/omcp-cdmgen load=$build_dir/bench/omcp-cdmload
    local out=$state_dir/cdm/synthetic.sqlite shared=$here/../shared/omop name archive
    if [ ! -x "$gen" ]; then
        echo "no CDM generator in this build; skipped"
        return
    fi
    mkdir -p "$state_dir/cdm"
    if [ -s "$out" ]; then
        echo "embedded CDM present: $out"
    else
        "$gen" --persons "$cdm_persons" --seed "$cdm_seed" --out "$out"
    fi
    [ -x "$load" ] && [ -d "$shared" ] || return 0
    local entry version
    for entry in synthea27nj:5.4:Synthea27Nj_5.4.zip gibleed:5.3:GiBleed_partial_5.3.tar.gz; do
        IFS=: read -r name version archive <<<"$entry"
        archive=$shared/$archive out=$state_dir/cdm/$name.sqlite
        if [ -s "$out" ] || [ ! -f "$archive" ]; then
            continue
        fi
        "$load" --name "$name" --cdm-version "$version" --in "$archive" --out "$out" |
            tail -n 1 || echo "warning: CDM $name not built from $archive"
    done
}

prepare() {
    require_root "$1"
    step "Debian packages"
    install_packages "${build_packages[@]}" "${engine_packages[@]}" "${test_packages[@]}"
    step "Docker engine"
    bash docker/ensure-dockerd.sh
    step "sandbox account"
    ensure_sandbox_account
    if [ -x docker/build-image.sh ]; then
        step "sandbox image"
        bash docker/build-image.sh
    fi
    step "build (Release, $build_dir)"
    build
    step "embedded CDM"
    generate_cdm
    step "set-up done"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
run)
    prepare run
    echo "starting omcp-rproxy on loopback; stop it with Ctrl-C"
    exec "$build_dir/proxy/omcp-rproxy" --http 127.0.0.1:8080 --qap 127.0.0.1:6311 \
        --set SANDBOX_UID="$SANDBOX_UID" --set STATE_DIR="$state_dir" "$@"
    ;;
test)
    prepare test
    step "tests"
    exec bash tests/run.sh
    ;;
prepare)
    prepare prepare
    ;;
*)
    usage
    ;;
esac
