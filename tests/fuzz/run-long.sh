#!/usr/bin/env bash
# Long fuzzing runs: each named target (every fuzz_* target of the build when
# none is named) runs for SECONDS on a copy of its seed corpus, at most JOBS
# at a time, niced. Everything a run produces is kept under OUT/<target>/:
# the grown corpus, the crash/leak/timeout/oom artifacts and the full log.
# The checked-in corpus only changes when a person copies inputs back.
#
#   tests/fuzz/run-long.sh [-b BUILD_DIR] [-s SECONDS] [-j JOBS] [-o OUT] [TARGET...]
#
# Defaults: BUILD_DIR build-fuzz in the source tree (configured with
# CC=clang, -DCMAKE_BUILD_TYPE=Sanitize -DOMCP_FUZZ=ON and built), SECONDS 600,
# JOBS 2, OUT /var/tmp/omcp-fuzz-<date>. Exits non-zero when any target found
# something or failed to run.
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build-fuzz
seconds=600
jobs=2
out=/var/tmp/omcp-fuzz-$(date +%Y%m%d-%H%M%S)

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}
while getopts b:s:j:o:h opt; do
    case $opt in
    b) build=$OPTARG ;;
    s) seconds=$OPTARG ;;
    j) jobs=$OPTARG ;;
    o) out=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))

bindir=$build/tests/fuzz
if [ $# -eq 0 ]; then
    set -- $(cd "$bindir" 2>/dev/null && ls fuzz_* 2>/dev/null | grep -v '\.' || true)
fi
[ $# -gt 0 ] || { echo "no fuzz targets in $bindir (build with -DOMCP_FUZZ=ON)"; exit 2; }
for t in "$@"; do
    [ -x "$bindir/$t" ] || { echo "not built: $bindir/$t"; exit 2; }
done
mkdir -p "$out"

# run_one TARGET: one libFuzzer run; its exit status is written to OUT/TARGET/status.
run_one() {
    local t=$1 dir=$out/$1
    mkdir -p "$dir/corpus" "$dir/artifacts"
    [ -d "$src/tests/fuzz/corpus/$t" ] && cp -r "$src/tests/fuzz/corpus/$t"/. "$dir/corpus"/
    (cd "$dir" && nice -n 10 "$bindir/$t" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
        corpus >"$dir/log" 2>&1)
    echo $? >"$dir/status"
}

echo "fuzzing $# target(s), $seconds s each, $jobs at a time; output in $out"
running=0
for t in "$@"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$t" &
    running=$((running + 1))
done
wait

failed=0
printf '%-18s %6s %12s %8s %8s %9s\n' target status execs cov corpus artifacts
for t in "$@"; do
    dir=$out/$t
    status=$(cat "$dir/status" 2>/dev/null || echo '?')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)
    found=$(find "$dir/artifacts" -type f | wc -l)
    printf '%-18s %6s %12s %8s %8s %9s\n' "$t" "$status" "${execs:-?}" "${cov:-?}" \
        "$(find "$dir/corpus" -type f | wc -l)" "$found"
    if [ "$status" != 0 ] || [ "$found" -ne 0 ]; then
        failed=$((failed + 1))
        for f in "$dir"/artifacts/*; do
            [ -e "$f" ] && echo "  artifact: $f"
        done
        grep -m3 -E 'ERROR: |SUMMARY: ' "$dir/log" | sed 's/^/  /'
    fi
done
echo "$failed of $# target(s) found something or did not run cleanly; output kept in $out"
[ "$failed" -eq 0 ]
