#!/usr/bin/env bash
# Runs one program under valgrind's memcheck and fails on any memory error
# and on any leak, definite, indirect or possible. Blocks still reachable at
# exit (caches kept for the life of the process, libraries' globals) do not
# count. Exits 77 when valgrind is not installed, or when this valgrind
# cannot emulate a system call the program needs (openat2 before 3.22), since
# the program then runs a path it never takes outside valgrind.
# Usage: valgrind.sh [--stdin FILE] PROGRAM [ARGS...]
set -uo pipefail
input=/dev/null
if [ "${1:-}" = --stdin ]; then
    input=$2
    shift 2
fi
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
valgrind --quiet --suppressions="$(dirname "$0")/valgrind.supp" \
    --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
    --track-fds=no --num-callers=30 --log-file="$log" "$@" <"$input"
status=$?
if grep -q 'unhandled amd64-linux syscall: 437' "$log"; then
    echo "SKIP: this valgrind does not emulate openat2, which $(basename "$1") needs"
    exit 77
fi
if [ "$status" -eq 99 ] || grep -q '^==[0-9]*== ' "$log"; then
    echo "valgrind reports for $*:"
    cat "$log"
    exit 1
fi
exit "$status"
