#!/usr/bin/env bash
# The official MCP TypeScript SDK (and a raw peer) against `omcp-rproxy --stdio`:
# lifecycle, version negotiation, tools/list, errors, framing. Installs the
# client's pinned packages with `npm ci` when tests/node/node_modules is missing.
set -uo pipefail
bin=$1
# No warm slot and no container engine here: these checks are about the
# protocol and the answers a client gets when no sandbox can be had.
export POOL_MIN_IDLE=0 STATE_DIR=$(mktemp -d) HTTP_LISTEN= QAP_LISTEN=
export DOCKER_HOST=unix://$STATE_DIR/no-engine.sock
trap 'rm -rf "$STATE_DIR"' EXIT
here=$(cd "$(dirname "$0")/../node" && pwd)

command -v node >/dev/null || { echo "SKIP: node is not installed"; exit 77; }
if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
    command -v npm >/dev/null || { echo "FAIL: node_modules missing and npm not installed"; exit 1; }
    (cd "$here" && npm ci --no-audit --no-fund) || { echo "FAIL: npm ci"; exit 1; }
fi
cd "$here" && timeout 120 node stdio_protocol.mjs "$bin"
