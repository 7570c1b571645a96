#!/usr/bin/env bash
# The stdio transport's framing without any client library: CRLF lines, blank
# lines, a last message without its newline, garbage between messages, and a
# clean exit at end of input with nothing but JSON on stdout.
set -uo pipefail
bin=$1
# The daemon keeps no warm slot here: these checks are about the protocol.
tmp=$(mktemp -d)
export POOL_MIN_IDLE=0 STATE_DIR=$tmp/state HTTP_LISTEN= QAP_LISTEN=
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}'
{
    printf '%s\r\n' "$init"
    printf '\n   \n'
    printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/initialized"}'
    printf 'not json at all\n'
    printf '%s\n' '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
    printf '%s' '{"jsonrpc":"2.0","id":3,"method":"ping"}'
} | timeout 20 "$bin" --stdio >"$tmp/out" 2>"$tmp/err"
status=$?

[ "$status" -eq 0 ] || fail "exit status $status at end of input"
[ "$(wc -l <"$tmp/out")" -eq 4 ] || fail "expected 4 answers, got: $(cat "$tmp/out")"
sed -n 1p "$tmp/out" | grep -q '"protocolVersion":"2025-06-18"' || fail "initialize answer"
sed -n 2p "$tmp/out" | grep -q '"id":null,"error":{"code":-32700' || fail "parse error answer"
sed -n 3p "$tmp/out" | grep -q '"name":"execute_in_session"' || fail "tools/list answer"
sed -n 4p "$tmp/out" | grep -q '"id":3,"result":{}' || fail "last line without newline"
grep -q 'level=' "$tmp/out" && fail "a log line reached stdout"
grep -q 'msg="client gone" reason="end of input"' "$tmp/err" || fail "no clean stop logged"

# SIGTERM while the client is still connected stops the daemon cleanly too.
mkfifo "$tmp/in"
timeout 20 "$bin" --stdio <"$tmp/in" >"$tmp/out2" 2>"$tmp/err2" &
pid=$!
exec 3>"$tmp/in"
printf '%s\n' "$init" >&3
for _ in $(seq 50); do [ -s "$tmp/out2" ] && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"; status=$?
exec 3>&-
[ "$status" -eq 0 ] || fail "exit status $status after SIGTERM"
grep -q '"protocolVersion"' "$tmp/out2" || fail "no answer before SIGTERM"

[ "$failures" -eq 0 ] && echo "ok: stdio framing" || exit 1
