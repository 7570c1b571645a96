#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock: reuses one that
# does, otherwise starts Debian's dockerd with --live-restore (so containers
# survive an engine restart) and waits for it. Idempotent; needs root.
set -euo pipefail

log=${DOCKERD_LOG:-/var/log/omcp-dockerd.log}

if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-dockerd: no Docker engine answers, and starting one needs root" >&2
    exit 1
fi
command -v dockerd >/dev/null || { echo "ensure-dockerd: dockerd not installed (apt-get install docker.io)" >&2; exit 1; }

echo "ensure-dockerd: starting dockerd --live-restore (log: $log)"
# Detached from this shell's session so that it outlives the caller.
setsid nohup dockerd --live-restore >>"$log" 2>&1 </dev/null &

for _ in $(seq 120); do
    if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        echo "ensure-dockerd: engine $(docker version --format '{{.Server.Version}}') is up"
        exit 0
    fi
    sleep 0.5
done
echo "ensure-dockerd: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
