#!/usr/bin/env bash
# The quick benchmark suite as CI runs it (bench/run.py --quick); its reports
# stay in BUILD/bench-report for bench_gate and for a person to read. Parts
# that need what this machine lacks (root, Docker, the image, valgrind,
# Rserve) are skipped by the driver; then this test says SKIP (exit 77).
# Usage: bench_quick.sh (OMCP_SOURCE_DIR and OMCP_BUILD_DIR from ctest)
set -uo pipefail
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${OMCP_BUILD_DIR:-$src/build}
out=$build/bench-report

# The parts CI gates on; OMCP_BENCH_PARTS widens it (e.g. adding omop,qap,http).
parts=${OMCP_BENCH_PARTS:-state,instr,codec,pool}
python3 "$src/bench/run.py" --quick --only "$parts" --build "$build" --out "$out" || {
    echo "FAIL: bench/run.py --quick exited non-zero"
    exit 1
}
for f in report.json report.txt benchmark-smaller.json benchmark-bigger.json latency.svg; do
    [ -s "$out/$f" ] || { echo "FAIL: $out/$f is missing"; exit 1; }
done
python3 - "$out/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
absent = [s for s in report["skipped"] if s["cause"] == "absent"]
for s in absent:
    print("SKIP: %s: %s" % (s["part"], s["reason"]))
sys.exit(77 if absent else 0)
PY
