#!/usr/bin/env python3
"""The ten analyses are portable: every file in bench/omop/analyses runs on
PostgreSQL (a throwaway cluster started here) and on SQLite over the same
rows, a small synthetic CDM and the hand-made edge cases, with the same
answers. Skips when no PostgreSQL server programs are installed.
Usage: cdm_postgres.py OMCP-CDMGEN"""
import csv
import glob
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdm_shared  # noqa: E402  (the edge rows and the analysis headers)

SOURCE = cdm_shared.SOURCE
PARAMS = {
    "synthetic": {"condition_concept_id": 320128, "ancestor_concept_id": 134057},
    "edges": {"condition_concept_id": 101, "ancestor_concept_id": 50},
}
failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def find(program):
    dirs = os.environ.get("PATH", "").split(":") + sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    for d in dirs:
        if os.path.isfile(os.path.join(d, program)) and os.access(os.path.join(d, program),
                                                                   os.X_OK):
            return os.path.join(d, program)
    return None


class Cluster:
    """A PostgreSQL cluster in a temporary directory, listening only on a
    unix socket there. Run as nobody when the test runs as root."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "pg")
        self.port = str(20000 + os.getpid() % 20000)
        os.mkdir(self.dir)
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "nobody", "nogroup")
            os.chmod(tmp, 0o755)
            self.as_user = ["runuser", "-u", "nobody", "--"]
        self.server(find("initdb"), "-D", self.dir + "/data", "-A", "trust", "-U", "cdm")
        self.server(find("pg_ctl"), "-D", self.dir + "/data", "-l", self.dir + "/log", "-w",
                    "-o", "-k %s -c listen_addresses= -p %s" % (self.dir, self.port), "start")

    def server(self, *argv):
        subprocess.run(self.as_user + list(argv), check=True, capture_output=True, timeout=120)

    def stop(self):
        subprocess.run(self.as_user + [find("pg_ctl"), "-D", self.dir + "/data", "-m", "fast",
                                       "-w", "stop"], capture_output=True, timeout=120)

    def psql(self, database, *args, stdin=None):
        run = subprocess.run([find("psql"), "-h", self.dir, "-p", self.port, "-U", "cdm", "-d",
                              database, "-X", "-q", "-v", "ON_ERROR_STOP=1"] + list(args),
                             input=stdin, capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            raise RuntimeError(run.stderr.strip())
        return run.stdout


def copy_tables(cluster, database, db, tmp):
    """Copies every table with rows from SQLite into the PostgreSQL database."""
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        cursor = db.execute("SELECT * FROM %s" % table)
        columns = [d[0] for d in cursor.description]
        path = os.path.join(tmp, table + ".csv")
        with open(path, "w", newline="") as f:
            rows = csv.writer(f)
            for row in cursor:
                rows.writerow(["" if v is None else v for v in row])
        cluster.psql(database, "-c", "\\copy %s (%s) FROM '%s' WITH (FORMAT csv)" %
                     (table, ", ".join('"%s"' % c for c in columns), path))


def value(text):
    if text == "":
        return None
    try:
        return round(float(text), 2)
    except ValueError:
        return text


def run_both(cluster, database, db, path, params):
    with open(path) as f:
        sql = f.read()
    want = [tuple(value(str(v)) if v is not None else None for v in row)
            for row in db.execute(sql, params)]
    variables = sum((["-v", "%s=%s" % kv] for kv in params.items()), [])
    out = cluster.psql(database, "--csv", *variables, "-f", path)
    got = [tuple(value(v) for v in row) for row in list(csv.reader(out.splitlines()))[1:]]
    label = "%s on %s" % (os.path.basename(path), database)
    if got != want:
        fail("%s: PostgreSQL %s, SQLite %s" % (label, got[:8], want[:8]))
    elif not want:
        fail("%s: no rows on either side" % label)
    else:
        print("ok: %s (%d rows agree)" % (label, len(got)))


def dataset(cluster, name, sqlite_path, tmp):
    cluster.psql("postgres", "-c", "CREATE DATABASE %s" % name)
    cluster.psql(name, "-f", os.path.join(SOURCE, "bench", "omop", "cdm54.sql"))
    db = sqlite3.connect(sqlite_path)
    copy_tables(cluster, name, db, tmp)
    for path in sorted(glob.glob(os.path.join(cdm_shared.ANALYSES, "*.sql"))):
        if all(cdm_shared.has_rows(db, t) for t in cdm_shared.requires(path)):
            run_both(cluster, name, db, path, PARAMS[name])
        else:
            fail("%s: %s lacks rows it needs" % (os.path.basename(path), name))
    db.close()


def main():
    gen = sys.argv[1]
    missing = [p for p in ("initdb", "pg_ctl", "psql") if not find(p)]
    if missing:
        print("SKIP: no PostgreSQL programs: %s" % ", ".join(missing))
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = os.path.join(tmp, "synthetic.sqlite")
        subprocess.run([gen, "--persons", "500", "--seed", "5", "--out", synthetic], check=True,
                       capture_output=True, timeout=300)
        edges = os.path.join(tmp, "edges.sqlite")
        db = sqlite3.connect(edges)
        with open(os.path.join(SOURCE, "bench", "omop", "cdm54.sql")) as f:
            db.executescript(f.read())
        db.executescript(cdm_shared.EDGE_ROWS)
        db.commit()
        db.close()
        cluster = Cluster(tmp)
        try:
            dataset(cluster, "synthetic", synthetic, tmp)
            dataset(cluster, "edges", edges, tmp)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            fail("PostgreSQL: %s" % e)
        finally:
            cluster.stop()
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
