#!/usr/bin/env bash
# Runs every test suite in three builds and ends with one summary line:
#   build/           Release: style, unit and integration tests
#   build-sanitize/  ASan + UBSan: unit and integration tests
#   build-fuzz/      clang, libFuzzer + ASan + UBSan: every fuzz target
# Expects the machine to be set up (./setup.sh test does that first).
# OMCP_SUITES narrows the run, e.g. OMCP_SUITES="release sanitize".
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suites=${OMCP_SUITES:-release sanitize fuzz}
jobs=$(nproc)
passed=0
failed=0
skipped=0
failed_names=()
started=$SECONDS

step() { printf '\n== [%4ds] %s\n' $((SECONDS - started)) "$*"; }

configure() {
    local dir=$1
    shift
    cmake -S "$src" -B "$dir" "$@" >/dev/null || return 1
    cmake --build "$dir" -j "$jobs" 2>&1 | grep -Ev '^\[ *[0-9]+%\] (Building|Linking)' || true
    return "${PIPESTATUS[0]}"
}

# ctest_suite NAME DIR CTEST-ARGS...: runs ctest and adds its counts.
ctest_suite() {
    local name=$1 dir=$2 log
    shift 2
    log=$(mktemp)
    (cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$log"
    local total failures skips
    total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n1)
    failures=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n1)
    skips=$(grep -c '\*\*\*Skipped\|Not Run (Disabled)' "$log" || true)
    if [ -z "$total" ]; then
        grep -q 'No tests were found' "$log" || { failed=$((failed + 1)); failed_names+=("$name:ctest"); }
        rm -f "$log"
        return
    fi
    passed=$((passed + total - failures - skips))
    failed=$((failed + failures))
    skipped=$((skipped + skips))
    while read -r t; do
        [ -n "$t" ] && failed_names+=("$name:$t")
    done < <(grep -v '(Skipped)' "$log" | sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (.*/\1/p' || true)
    rm -f "$log"
}

build_failed() {
    echo "tests: the $1 build failed" >&2
    failed=$((failed + 1))
    failed_names+=("$1:build")
}

for suite in $suites; do
    case $suite in
    release)
        step "Release build"
        if configure "$src/build" -DCMAKE_BUILD_TYPE=Release; then
            step "Release: style, unit, integration"
            ctest_suite release "$src/build" -LE fuzz
        else
            build_failed release
        fi
        ;;
    sanitize)
        step "Sanitize build (ASan + UBSan)"
        if configure "$src/build-sanitize" -DCMAKE_BUILD_TYPE=Sanitize; then
            step "Sanitize: unit, integration"
            ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
                ctest_suite sanitize "$src/build-sanitize" -LE 'fuzz|style'
        else
            build_failed sanitize
        fi
        ;;
    fuzz)
        step "fuzz build (clang, libFuzzer)"
        if CC=clang configure "$src/build-fuzz" -DCMAKE_BUILD_TYPE=Sanitize -DOMCP_FUZZ=ON; then
            step "fuzz targets"
            ctest_suite fuzz "$src/build-fuzz" -L fuzz -j "$jobs"
        else
            build_failed fuzz
        fi
        ;;
    *)
        echo "tests: unknown suite '$suite'" >&2
        exit 2
        ;;
    esac
done

step "summary"
for name in "${failed_names[@]}"; do
    echo "FAILED: $name"
done
echo "$passed passed, $failed failed, $skipped skipped ($((SECONDS - started)) s)"
[ "$failed" -eq 0 ]
