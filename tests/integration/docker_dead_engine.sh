#!/usr/bin/env bash
# An engine that is not there must give a clear engine_unreachable at once,
# never a hang: no socket at all, and a stale socket nobody listens on.
set -uo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

probe() { # DOCKER_HOST, expected words in the message
    out=$(DOCKER_HOST=$1 timeout 15 "$bin" probe)
    status=$?
    echo "$1 -> $out"
    [ "$status" -eq 124 ] && { echo "FAIL: probe of $1 hung"; failures=$((failures + 1)); return; }
    case $out in
    *"error=engine_unreachable"*"$2"*) ;;
    *) echo "FAIL: $1 gave: $out"; failures=$((failures + 1)) ;;
    esac
    secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")
    awk -v s="$secs" 'BEGIN { exit !(s < 2) }' || { echo "FAIL: took $secs s"; failures=$((failures + 1)); }
}

probe "unix://$tmp/absent.sock" "No such file or directory"
if command -v python3 >/dev/null; then
    python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/stale.sock"
    probe "unix://$tmp/stale.sock" "Connection refused"
fi

out=$(DOCKER_HOST=tcp://127.0.0.1:2375 "$bin" probe)
case $out in
*"error=unsupported"*"unix://"*) echo "tcp:// -> $out" ;;
*) echo "FAIL: tcp:// gave: $out"; failures=$((failures + 1)) ;;
esac
[ "$failures" -eq 0 ] && echo "dead engine: all clear" 
exit $((failures > 0))
