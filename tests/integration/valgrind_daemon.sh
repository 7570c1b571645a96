#!/usr/bin/env bash
# The daemon under valgrind: started over stdio with no container engine, no
# warm target and a QAP1 listener on a unix socket; a short MCP conversation
# (initialize, tools/list, tool calls that fail as they must, a malformed
# line), then end of input. It must answer every request, exit 0, and leave
# no memory error and no leak.
# Usage: valgrind_daemon.sh OMCP-RPROXY
set -uo pipefail
bin=$1
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Unquoted, so that a backslash at the end of a line joins it with the next.
cat >"$work/in.jsonl" <<LINES
{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",\
"capabilities":{},"clientInfo":{"name":"valgrind","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/list"}
{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"pool_status","arguments":{}}}
{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"create_session","arguments":{}}}
{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_session_file",\
"arguments":{"session_id":"s","path":"../x"}}}
{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"describe_cdm","arguments":{}}}
not json
{"jsonrpc":"2.0","id":7,"method":"ping"}
LINES

export STATE_DIR=$work/state POOL_MIN_IDLE=0 DOCKER_HOST=unix://$work/no-engine.sock LOG_LEVEL=debug
# The QAP1 listener on a socket of its own; no TCP port another daemon may hold.
export QAP_LISTEN=unix:$work/qap.sock HTTP_LISTEN=
bash "$src/tests/valgrind.sh" --stdin "$work/in.jsonl" "$bin" --stdio \
    >"$work/out.jsonl" 2>"$work/err.log"
status=$?
if [ "$status" -ne 0 ]; then
    echo "FAIL: exit status $status"
    grep -v '^ts=' "$work/err.log" | tail -n 60
    tail -n 5 "$work/err.log"
    exit 1
fi
answers=$(grep -c '"id":' "$work/out.jsonl")
if [ "$answers" -ne 8 ]; then
    echo "FAIL: $answers answers, 8 expected"
    cat "$work/out.jsonl"
    exit 1
fi
grep -q 'reason="stdio client gone"' "$work/err.log" ||
    { echo "FAIL: no clean stop in the log"; exit 1; }
echo "ok - $answers answers, clean exit, no memory error and no leak under valgrind"
