#!/usr/bin/env bash
# The regression gate notices a regression: with OMCP_BENCH_HANDICAP=1 the
# benchmark programs do the C codec's work twice, which the callgrind count
# of the codec workload and the jsonlite/C ratios both see. Compared with the
# quick suite's own report (bench_quick), the gate must fail and name those
# figures; that report compared with itself must pass.
# Usage: bench_gate.sh (OMCP_SOURCE_DIR and OMCP_BUILD_DIR from ctest)
set -uo pipefail
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${OMCP_BUILD_DIR:-$src/build}
base=$build/bench-report/report.json
out=$build/bench-report-handicap
pct=25

[ -s "$base" ] || { echo "SKIP: no quick report at $base (bench_quick did not run)"; exit 77; }
expected=$(python3 - "$base" <<'PY'
import json, sys
names = [f["name"] for f in json.load(open(sys.argv[1]))["figures"]]
for n in names:
    if n == "instr: codec" or n.startswith("codec: ratio jsonlite/C dbl"):
        print(n)
PY
)
if [ -z "$expected" ]; then
    echo "SKIP: the quick report has neither instr nor codec figures"
    exit 77
fi

status=0
OMCP_BENCH_HANDICAP=1 python3 "$src/bench/run.py" --quick --only instr,codec --build "$build" \
    --out "$out" --compare "$base" --max-regression $pct >"$out.log" 2>&1
gate=$?
sed -n '/^compared with the baseline/,$p' "$out.log"
if [ $gate -ne 1 ]; then
    echo "FAIL: the handicapped run passed the gate (exit $gate)"
    status=1
fi
while IFS= read -r name; do
    if grep -qxF "REGRESSED: $name" "$out.log"; then
        echo "ok: the gate names \"$name\""
    else
        echo "FAIL: the gate does not name \"$name\""
        status=1
    fi
done <<<"$expected"

if python3 "$src/bench/run.py" --report "$base" --compare "$base" --max-regression $pct \
    >"$out.self.log" 2>&1; then
    echo "ok: the quick report compared with itself passes"
else
    echo "FAIL: the quick report compared with itself fails"
    tail -20 "$out.self.log"
    status=1
fi
exit $status
