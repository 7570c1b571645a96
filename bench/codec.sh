#!/usr/bin/env bash
# Runs omcp-bench-codec against a throwaway Rserve on the host: a unix socket
# in a temporary directory, no CPU quota, stopped and removed on exit.
# Usage: bench/codec.sh [--quick] [BINARY]
# BINARY defaults to $OMCP_BUILD_DIR/bench/omcp-bench-codec, else build/.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
quick=()
[ "${1:-}" = --quick ] && { quick=(--quick); shift; }
bin=${1:-${OMCP_BUILD_DIR:-$src/build}/bench/omcp-bench-codec}
[ -x "$bin" ] || { echo "codec.sh: $bin not built" >&2; exit 1; }
rserve=$(Rscript -e 'cat(system.file("libs", "Rserve", package = "Rserve"))' 2>/dev/null)
[ -n "$rserve" ] && [ -x "$rserve" ] || { echo "codec.sh: Rserve is not installed" >&2; exit 1; }

work=$(mktemp -d /tmp/omcp-bench-codec-XXXXXX)
leader=

# The connection Rserve forked goes first, while the server still lives to
# reap it; then the server itself.
cleanup() {
    if [ -n "$leader" ]; then
        for _ in $(seq 50); do
            pids=$(pgrep -g "$leader" | grep -vx "$leader")
            [ -z "$pids" ] && break
            kill -TERM $pids 2>/dev/null
            sleep 0.1
        done
        kill -TERM "$leader" 2>/dev/null
        wait "$leader" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

printf '%s\n' "socket $work/rserve.sock" "sockmod 0600" "remote disable" "daemon disable" \
    "encoding utf8" >"$work/rserve.conf"
LANG=C.UTF-8 setsid R CMD "$rserve" --no-save --RS-conf "$work/rserve.conf" \
    >"$work/rserve.log" 2>&1 </dev/null &
leader=$!
for _ in $(seq 300); do
    [ -S "$work/rserve.sock" ] && break
    kill -0 "$leader" 2>/dev/null || break
    sleep 0.1
done
if [ ! -S "$work/rserve.sock" ]; then
    echo "codec.sh: Rserve did not start" >&2
    cat "$work/rserve.log" >&2
    exit 1
fi

"$bin" "${quick[@]}" "$work/rserve.sock"
