#!/usr/bin/env bash
# Both engines at one scale: generates a synthetic CDM of PERSONS persons
# into SQLite, bulk-loads it into a throwaway PostgreSQL CDM cluster with
# bench/pg-cdm.sh (COPY, then keys, indexes and ANALYZE), prints load times
# and sizes, then each of the ten analyses' time on both engines
# (bench/cdm_engines.py; the answers must agree). Run as root.
#
#   bench/pg-cdm-bench.sh PERSONS [SEED]    e.g. 100000 (about 3 minutes here)
#
# Environment: OMCP_BUILD_DIR (the build with omcp-cdmgen, default build/),
# OMCP_BENCH_DIR (work directory, default a new one under /var/tmp; it needs
# about 1.3 KB per person, twice).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
persons=${1:?usage: pg-cdm-bench.sh PERSONS [SEED]}
seed=${2:-1}
gen=${OMCP_BUILD_DIR:-$here/../build}/bench/omcp-cdmgen
[ -x "$gen" ] || { echo "pg-cdm-bench: no $gen; build first or set OMCP_BUILD_DIR" >&2; exit 1; }
work=${OMCP_BENCH_DIR:-$(mktemp -d /var/tmp/omcp-pg-bench-XXXXXX)}
mkdir -p "$work"
chmod 0755 "$work"
export PG_CDM_DIR=$work/pg CDM_DIR=$work/cdm DB_PORT=$((20000 + $$ % 20000))
trap 'bash "$here/pg-cdm.sh" stop >/dev/null 2>&1; rm -rf --one-file-system "$work"' EXIT

mkdir -p "$CDM_DIR"
bash "$here/pg-cdm.sh" init >/dev/null
echo "== SQLite: omcp-cdmgen --persons $persons --seed $seed"
"$gen" --persons "$persons" --seed "$seed" --out "$CDM_DIR/synthetic.sqlite" 2>/dev/null |
    tail -n 1
echo "== PostgreSQL: pg-cdm.sh load (COPY from the SQLite file, keys, indexes, ANALYZE)"
bash "$here/pg-cdm.sh" load synthetic_pg "$CDM_DIR/synthetic.sqlite" | tail -n 1
echo "== the analyses (first run, then the median of three)"
python3 "$here/cdm_engines.py" "$CDM_DIR/synthetic.sqlite" "$PG_CDM_DIR/socket" "$DB_PORT" \
    synthetic_pg
