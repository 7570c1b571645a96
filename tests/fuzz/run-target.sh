#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time on a scratch copy of its seed
# corpus, so the checked-in corpus only changes when a person decides.
set -euo pipefail
target=$1 corpus=$2 seconds=${3:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
cd "$work"
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" . 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
        [ -e "$f" ] && { echo "artifact: $f"; od -A d -t x1 "$f" | head -20; }
    done
fi
exit "$status"
