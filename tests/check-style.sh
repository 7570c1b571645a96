#!/usr/bin/env bash
# Fails when a C file is not as .clang-format wants it, or has a line wider
# than 100 columns.
set -euo pipefail
cd "$1"
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h')
[ "${#files[@]}" -gt 0 ] || { echo "no C files"; exit 1; }
clang-format --dry-run --Werror "${files[@]}"
if awk 'length($0) > 100 { print FILENAME ":" FNR ": wider than 100 columns"; bad = 1 }
        END { exit bad }' "${files[@]}"; then
    echo "style: ${#files[@]} files formatted"
else
    exit 1
fi
