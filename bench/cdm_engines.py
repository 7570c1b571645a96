#!/usr/bin/env python3
"""The ten analyses on both engines: each on an SQLite CDM (Python's sqlite3,
read-only) and on the same CDM in PostgreSQL (psql's \\timing, as the
cluster's owner), run once and then three times more; prints the first time,
the median of the three and the rows, and fails when the answers differ.
Usage: cdm_engines.py FILE.sqlite SOCKET-DIR PORT DATABASE [RUNS]"""
import csv
import glob
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time

ANALYSES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "omop", "analyses")
# Parameters the synthetic CDM has rows for (hypertension; sinusitis).
PARAMS = {"condition_concept_id": 320128, "ancestor_concept_id": 134057}


def header(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith("-- %s:" % key):
                return line.split(":", 1)[1].strip()
    return ""


def chosen(db):
    """The first variant of each number whose required tables have rows:
    NN_name.sql, then NN_name.era.sql."""
    picked = {}
    paths = glob.glob(os.path.join(ANALYSES, "*.sql"))
    for path in sorted(paths, key=lambda p: (os.path.basename(p).count("."), p)):
        number = os.path.basename(path)[:2]
        tables = [t.strip() for t in header(path, "requires").split(",") if t.strip()]
        if number not in picked and all(
                db.execute("SELECT 1 FROM %s LIMIT 1" % t).fetchone() for t in tables):
            picked[number] = path
    return [picked[n] for n in sorted(picked)]


def value(v):
    if v is None or v == "":
        return None
    try:
        return round(float(v), 2)
    except (TypeError, ValueError):
        return str(v)


def on_sqlite(db, sql, runs):
    times, rows = [], None
    for _ in range(runs + 1):
        began = time.perf_counter()
        rows = db.execute(sql, PARAMS).fetchall()
        times.append(time.perf_counter() - began)
    return times, [tuple(value(v) for v in r) for r in rows]


def on_postgres(socket, port, database, sql, runs):
    script = "\\timing on\n" + ("\\o /dev/null\n" + sql + "\n") * (runs + 1) + \
             "\\o\n\\pset format csv\n" + sql + "\n"
    argv = ["runuser", "-u", "postgres", "--", "psql", "-h", socket, "-p", port, "-d",
            database, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for name, v in PARAMS.items():
        argv += ["-v", "%s=%s" % (name, v)]
    out = subprocess.run(argv, input=script, capture_output=True, text=True, check=True).stdout
    times = [float(t) / 1e3 for t in re.findall(r"^Time: ([0-9.]+) ms", out, re.M)]
    lines = [l for l in out.splitlines() if not l.startswith("Time: ")]
    rows = [tuple(value(v) for v in r) for r in list(csv.reader(lines))[1:]]
    return times[:runs + 1], rows


def main():
    if len(sys.argv) not in (5, 6):
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    path, socket, port, database = sys.argv[1:5]
    runs = int(sys.argv[5]) if len(sys.argv) == 6 else 3
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    differ = 0
    print("%-36s %8s %10s %10s %10s %10s" % ("analysis", "rows", "sqlite_1st", "sqlite_med",
                                            "pg_1st", "pg_med"))
    for analysis in chosen(db):
        with open(analysis) as f:
            sql = f.read().strip().rstrip(";")
        lite_times, lite_rows = on_sqlite(db, sql, runs)
        pg_times, pg_rows = on_postgres(socket, port, database, sql + ";", runs)
        same = lite_rows == pg_rows
        differ += not same
        print("%-36s %8d %9.1fms %9.1fms %9.1fms %9.1fms%s" % (
            os.path.basename(analysis)[:-4], len(lite_rows), lite_times[0] * 1e3,
            statistics.median(lite_times[1:]) * 1e3, pg_times[0] * 1e3,
            statistics.median(pg_times[1:]) * 1e3, "" if same else "  ANSWERS DIFFER"))
    db.close()
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
