#!/usr/bin/env bash
# The official MCP conformance runner (@modelcontextprotocol/conformance,
# pinned in tests/node/package.json) against the daemon's Streamable HTTP
# listener on a free loopback port. Only the scenarios that apply to this
# server run: the others need the runner's fixture tools (test_simple_text,
# test_image_content, ...), or resources, prompts, completions, sampling or
# elicitation, which this server does not offer.
# Usage: mcp_http_conformance.sh OMCP-RPROXY
set -uo pipefail
bin=$1
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/node
work=$(mktemp -d /var/tmp/omcp-conformance-XXXXXX)
scenarios="server-initialize tools-list logging-set-level"
pid=

cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "SKIP: the pool needs root (slot directories change owner)"; exit 77; }
command -v node >/dev/null || { echo "FAIL: node is not installed"; exit 1; }
if [ ! -x "$here/node_modules/.bin/conformance" ]; then
    (cd "$here" && npm ci --no-audit --no-fund) || { echo "FAIL: npm ci"; exit 1; }
fi
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')

mkdir -p "$work/state"
STATE_DIR=$work/state POOL_MIN_IDLE=0 QAP_LISTEN= SANDBOX_UID=$(id -u omcp-sandbox 2>/dev/null || echo 1000) \
    "$bin" --http "127.0.0.1:$port" 2>"$work/daemon.log" &
pid=$!
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
done

status=0
for s in $scenarios; do
    out=$(cd "$work" && timeout 120 "$here/node_modules/.bin/conformance" server \
        --url "http://127.0.0.1:$port/mcp" --scenario "$s" 2>&1)
    if echo "$out" | grep -q "Passed: 1/1, 0 failed"; then
        echo "ok   $s"
    else
        echo "FAIL $s"
        echo "$out" | tail -30
        status=1
    fi
done
kill -TERM "$pid"
wait "$pid" || { echo "FAIL: the daemon did not exit cleanly"; tail -20 "$work/daemon.log"; status=1; }
pid=
grep -E "level=error|Sanitizer|runtime error:" "$work/daemon.log" && status=1
exit $status
