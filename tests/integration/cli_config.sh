#!/usr/bin/env bash
# The daemon's command line: --check-config verdicts, precedence as seen by a
# user, and a clean stop on SIGINT and SIGTERM with the configuration logged.
set -uo pipefail
bin=$1
# The daemons started here keep no warm slot: these checks are about the command line.
export POOL_MIN_IDLE=0
# No listeners: the daemons started here must not meet another one's port.
export HTTP_LISTEN= QAP_LISTEN=
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# An invalid value fails and names the setting.
if MAX_SANDBOXES=-3 "$bin" --check-config >"$tmp/out" 2>"$tmp/err"; then
    fail "MAX_SANDBOXES=-3 accepted"
fi
grep -q 'MAX_SANDBOXES' "$tmp/err" || fail "error does not name MAX_SANDBOXES: $(cat "$tmp/err")"

# Unknown --set keys and malformed listeners are refused.
"$bin" --check-config --set NOPE=1 >/dev/null 2>&1 && fail "unknown key accepted"
"$bin" --check-config --qap 'localhost' >/dev/null 2>&1 && fail "bad --qap accepted"

# Precedence: file < environment < command line; secrets masked.
printf 'max_sandboxes = 20\nsandbox_timeout = 60\nDB_PASSWORD = s3cret-file\n' >"$tmp/conf.ini"
MAX_SANDBOXES=30 "$bin" --config "$tmp/conf.ini" --check-config --set MAX_SANDBOXES=40 \
    --qap unix:/tmp/q.sock --qap 127.0.0.1:7000 >"$tmp/out" 2>&1 || fail "valid config refused"
grep -qx 'MAX_SANDBOXES=40 # cli' "$tmp/out" || fail "cli did not win: $(grep MAX_SANDBOXES "$tmp/out")"
grep -qx 'SANDBOX_TIMEOUT=60 # file' "$tmp/out" || fail "file value lost"
grep -qx 'QAP_LISTEN=unix:/tmp/q.sock,127.0.0.1:7000 # cli' "$tmp/out" || fail "--qap not joined"
grep -q 's3cret-file' "$tmp/out" && fail "secret printed by --check-config"

# The daemon logs its configuration and stops cleanly on SIGINT and SIGTERM.
for sig in INT TERM; do
    "$bin" --set STATE_DIR="$tmp/state" --set DB_PASSWORD=s3cret-run >"$tmp/log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do grep -q 'msg="starting"' "$tmp/log" && break; sleep 0.1; done
    kill -s "$sig" "$pid"
    wait "$pid"; status=$?
    [ "$status" -eq 0 ] || fail "exit status $status after SIG$sig"
    grep -q "msg=\"stopping\" signal=SIG$sig" "$tmp/log" || fail "no stop line for SIG$sig"
    grep -q 'key=MAX_SANDBOXES value="10"' "$tmp/log" || fail "configuration not logged"
    grep -q 's3cret-run' "$tmp/log" && fail "secret in the log"
done

# SIGHUP reopens LOG_FILE after rotation.
"$bin" --set LOG_FILE="$tmp/daemon.log" --set STATE_DIR="$tmp/state" &
pid=$!
for _ in $(seq 50); do grep -q 'msg="starting"' "$tmp/daemon.log" 2>/dev/null && break; sleep 0.1; done
mv "$tmp/daemon.log" "$tmp/daemon.log.1"
kill -HUP "$pid"
for _ in $(seq 50); do [ -s "$tmp/daemon.log" ] && break; sleep 0.1; done
kill -TERM "$pid"; wait "$pid"
grep -q 'log file reopened' "$tmp/daemon.log" || fail "SIGHUP did not reopen the log file"

# The README's settings table documents every setting the daemon knows.
readme=${OMCP_SOURCE_DIR:-$(dirname "$0")/../..}/README.md
for key in $("$bin" --help | sed -n 's/^  \([A-Z][A-Z_]*\)  .*/\1/p'); do
    grep -q "^| \`$key\` |" "$readme" || fail "README's settings table lacks $key"
done

if [ "$failures" -eq 0 ]; then echo "cli_config: all checks passed"; fi
exit $((failures > 0))
