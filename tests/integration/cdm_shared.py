#!/usr/bin/env python3
"""The shipped OMOP extracts through omcp-cdmload, and the ten analyses in
bench/omop/analyses checked on them against answers computed here by another
route: Python's csv module reading the CSV members straight out of the zip
and tar.gz. Also runs the analyses on a small synthetic CDM, where every one
has data. Usage: cdm_shared.py OMCP-CDMLOAD OMCP-CDMGEN"""
import collections
import csv
import datetime
import glob
import io
import math
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zipfile

SOURCE = os.environ.get("OMCP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.join(SOURCE, "..", "shared", "omop")
ANALYSES = os.path.join(SOURCE, "bench", "omop", "analyses")

# name, archive, CDM version, parameters of the analyses
DATASETS = [
    ("synthea27nj", "Synthea27Nj_5.4.zip", "5.4",
     {"condition_concept_id": 40481087, "ancestor_concept_id": 4283893}),
    ("gibleed", "GiBleed_partial_5.3.tar.gz", "5.3",
     {"condition_concept_id": 192671, "ancestor_concept_id": 4283893}),
]
# The tables the independent answers read; other members are only counted.
KEPT = {"person", "observation_period", "condition_occurrence", "condition_era",
        "drug_exposure", "drug_era", "concept_ancestor", "visit_occurrence"}
failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def members(path):
    """Yields (member path, text stream) for every CSV member of the archive."""
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.is_dir():
                    with z.open(info) as raw:
                        yield info.filename, io.TextIOWrapper(raw, "utf-8-sig", newline="")
    else:
        with tarfile.open(path, "r:gz") as t:
            for info in t:
                if info.isfile():
                    yield info.name, io.TextIOWrapper(t.extractfile(info), "utf-8-sig",
                                                      newline="")


def read_extract(path):
    """Returns ({table: row count}, {table: [row dict]}) for the kept tables."""
    counts, tables = {}, {}
    for name, stream in members(path):
        if "__MACOSX" in name.split("/") or not name.lower().endswith(".csv"):
            continue
        table = os.path.basename(name)[:-4].lower()
        reader = csv.reader(stream)
        header = [h.lower() for h in next(reader)]
        rows = [dict(zip(header, (v if v != "" else None for v in r))) for r in reader if r]
        counts[table] = len(rows)
        if table in KEPT:
            tables[table] = rows
    return counts, tables


def read_sqlite(db):
    """The kept tables of a CDM database in the shape read_extract gives."""
    tables = {}
    for table in KEPT:
        cursor = db.execute("SELECT * FROM %s" % table)
        names = [d[0] for d in cursor.description]
        tables[table] = [dict(zip(names, (None if v is None else str(v) for v in row)))
                         for row in cursor]
    return tables


def num(text):
    return int(float(text))


def date(text):
    return datetime.date.fromisoformat(text[:10])


# The independent answers: one function per analysis, from rows of strings.

def persons_by_gender(t, params):
    return sorted(collections.Counter(num(p["gender_concept_id"]) for p in t["person"]).items())


def persons_by_year_of_birth(t, params):
    return sorted(collections.Counter(num(p["year_of_birth"]) for p in t["person"]).items())


def observation_365_days(t, params):
    persons = {num(p["person_id"]) for p in t["person"]}
    long_enough = {num(o["person_id"]) for o in t["observation_period"]
                   if (date(o["observation_period_end_date"]) -
                       date(o["observation_period_start_date"])).days >= 365}
    return [(len(persons & long_enough), len(persons))]


def condition_rows(t):
    """Condition rows with (person, concept, start date), from occurrences
    where the extract has them and from eras otherwise."""
    if t["condition_occurrence"]:
        return [(num(c["person_id"]), num(c["condition_concept_id"]), c["condition_start_date"])
                for c in t["condition_occurrence"]]
    return [(num(c["person_id"]), num(c["condition_concept_id"]), c["condition_era_start_date"])
            for c in t["condition_era"]]


def condition_prevalence(t, params):
    persons = {num(p["person_id"]) for p in t["person"]}
    wanted = params["condition_concept_id"]
    cases = {p for p, c, _ in condition_rows(t) if c == wanted} & persons
    return [(wanted, len(cases), len(persons), round(1000 * len(cases) / len(persons), 2))]


def top_conditions(t, params):
    persons = {num(p["person_id"]) for p in t["person"]}
    pairs = {(p, c) for p, c, _ in condition_rows(t) if p in persons}
    counts = collections.Counter(c for _, c in pairs)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]


def drug_exposures_per_person(t, params):
    per_person = collections.Counter(num(d["person_id"]) for d in t["drug_exposure"])
    histogram = collections.Counter(per_person[num(p["person_id"])] for p in t["person"])
    return sorted(histogram.items())


def condition_by_age_gender(t, params):
    people = {num(p["person_id"]): p for p in t["person"]}
    first = {}
    for p, c, start in condition_rows(t):
        if c == params["condition_concept_id"] and p in people:
            first[p] = min(first.get(p, start), start)
    groups = collections.Counter()
    for p, start in first.items():
        age = date(start).year - num(people[p]["year_of_birth"])
        groups[(math.trunc(age / 10) * 10, num(people[p]["gender_concept_id"]))] += 1
    return sorted((a, g, n) for (a, g), n in groups.items())


def concept_descendants(t, params):
    ancestor = params["ancestor_concept_id"]
    levels = {}
    for r in t["concept_ancestor"]:
        d = num(r["descendant_concept_id"])
        if num(r["ancestor_concept_id"]) == ancestor and d != ancestor:
            levels[d] = min(levels.get(d, 10**9), num(r["min_levels_of_separation"]))
    return sorted(levels.items())


def visits_by_type_and_year(t, params):
    return sorted((k[0], k[1], n) for k, n in collections.Counter(
        (num(v["visit_concept_id"]), date(v["visit_start_date"]).year)
        for v in t["visit_occurrence"]).items())


def drug_era_length_quartiles(t, params):
    days = sorted((date(e["drug_era_end_date"]) - date(e["drug_era_start_date"])).days
                  for e in t["drug_era"])
    n = len(days)
    rank = [days[math.ceil(p * n / 100) - 1] for p in (25, 50, 75)]
    return [(n, days[0], rank[0], rank[1], rank[2], days[-1])]


EXPECTED = {
    "01": persons_by_gender, "02": persons_by_year_of_birth, "03": observation_365_days,
    "04": condition_prevalence, "05": top_conditions, "06": drug_exposures_per_person,
    "07": condition_by_age_gender, "08": concept_descendants, "09": visits_by_type_and_year,
    "10": drug_era_length_quartiles,
}


def analyses():
    """{number: [variant paths]}, the plain variant first."""
    found = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(ANALYSES, "*.sql"))):
        number = os.path.basename(path)[:2]
        found[number].append(path)
    for variants in found.values():
        variants.sort(key=lambda p: (os.path.basename(p).count("."), p))
    return found


def requires(path):
    with open(path) as f:
        match = re.search(r"^-- requires: (.+)$", f.read(), re.M)
    return [t.strip() for t in match.group(1).split(",")] if match else []


def has_rows(db, table):
    return db.execute("SELECT EXISTS (SELECT 1 FROM %s)" % table).fetchone()[0] == 1


def normal(rows):
    return [tuple(round(v, 2) if isinstance(v, float) else v for v in row) for row in rows]


def check_analysis(db, name, number, variants, tables, params, checked):
    """Runs the first variant whose tables have rows and compares its answer."""
    usable = [v for v in variants if all(has_rows(db, t) for t in requires(v))]
    if not usable:
        empty = sorted({t for v in variants for t in requires(v) if not has_rows(db, t)})
        print("SKIP: %s on %s: no rows in %s" % (os.path.basename(variants[0]), name,
                                                 ", ".join(empty)))
        return
    with open(usable[0]) as f:
        got = normal(db.execute(f.read(), params).fetchall())
    want = normal(EXPECTED[number](tables, params))
    label = "%s on %s" % (os.path.basename(usable[0]), name)
    if not want or want == [(0,) * len(want[0])]:
        fail("%s: the independent answer is empty, nothing to check" % label)
    elif got != want:
        fail("%s: got %s, want %s" % (label, got[:12], want[:12]))
    else:
        print("ok: %s (%d rows)" % (label, len(got)))
        checked[number].append(name)


def load(loader, name, archive, version, out):
    run = subprocess.run([loader, "--name", name, "--in", archive, "--out", out],
                         capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        sys.exit("FAIL: omcp-cdmload %s exited %d: %s" % (name, run.returncode, run.stderr))
    if ": cdm %s," % version not in run.stdout:
        fail("%s: not loaded as CDM %s: %s" % (name, version, run.stdout[-300:]))
    if "__MACOSX" in run.stdout:
        fail("%s: a __MACOSX member was loaded" % name)
    return run.stdout


def check_counts(db, name, counts, output):
    for table, rows in counts.items():
        got = db.execute("SELECT COUNT(*) FROM %s" % table).fetchone()[0]
        if got != rows:
            fail("%s.%s holds %d rows, the CSV has %d" % (name, table, got, rows))
    match = re.search(r": cdm [0-9.]+, (\d+) tables,", output)
    if not match or int(match.group(1)) != len(counts):
        fail("%s: the loader reports %s tables, the archive has %d CSV members"
             % (name, match.group(1) if match else "no", len(counts)))
    print("%s: row counts of %d tables agree with the CSVs" % (name, len(counts)))


def check_orphans(db, name, tables, output):
    persons = {num(p["person_id"]) for p in tables["person"]}
    orphans = sum(1 for o in tables["observation_period"] if num(o["person_id"]) not in persons)
    got = db.execute("SELECT COUNT(*) FROM observation_period WHERE person_id NOT IN "
                     "(SELECT person_id FROM person)").fetchone()[0]
    if got != orphans:
        fail("%s: %d observation_period rows without a person, the CSV has %d"
             % (name, got, orphans))
    if orphans and ("without a person: %d" % orphans) not in output:
        fail("%s: the loader does not report its %d orphan periods" % (name, orphans))


def check_file(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "delete":
        fail("%s: journal mode is not DELETE" % path)
    return db


def run_dataset(loader, tmp, dataset, found, checked):
    name, archive, version, params = dataset
    out = os.path.join(tmp, name + ".sqlite")
    output = load(loader, name, os.path.join(SHARED, archive), version, out)
    counts, tables = read_extract(os.path.join(SHARED, archive))
    for table in KEPT:
        tables.setdefault(table, [])
    db = check_file(out)
    check_counts(db, name, counts, output)
    check_orphans(db, name, tables, output)
    for number in sorted(EXPECTED):
        check_analysis(db, name, number, found[number], tables, params, checked)
    db.close()


def run_synthetic(gen, tmp, found):
    out = os.path.join(tmp, "synthetic.sqlite")
    subprocess.run([gen, "--persons", "2000", "--seed", "3", "--out", out], check=True,
                   capture_output=True, timeout=600)
    db = check_file(out)
    tables = read_sqlite(db)
    params = {"condition_concept_id": 320128, "ancestor_concept_id": 134057}
    checked = collections.defaultdict(list)
    for number in sorted(EXPECTED):
        check_analysis(db, "synthetic", number, found[number], tables, params, checked)
        if not checked[number]:
            fail("analysis %s not checked on the synthetic CDM" % number)
    db.close()


# A hand-made CDM whose rows sit on the analyses' edges: periods of 364, 365
# and 366 days, an orphan period, ties among conditions beyond the tenth
# place, ages at group boundaries, repeated ancestry rows, visits either side
# of a new year and era lengths whose quartiles fall between ranks.
EDGE_ROWS = """
INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id,
                    ethnicity_concept_id) VALUES
    (1, 8507, 1980, 0, 0), (2, 8532, 1970, 0, 0), (3, 8532, 1961, 0, 0),
    (4, 8507, 1960, 0, 0), (5, 8532, 1980, 0, 0);
INSERT INTO observation_period VALUES
    (1, 1, '2020-01-01', '2020-12-30', 0), (2, 2, '2019-03-01', '2020-02-29', 0),
    (3, 3, '2019-01-01', '2020-01-02', 0), (4, 99, '2010-01-01', '2015-01-01', 0),
    (5, 4, '2020-02-28', '2021-02-27', 0);
INSERT INTO condition_occurrence (condition_occurrence_id, person_id, condition_concept_id,
                                  condition_start_date, condition_type_concept_id) VALUES
    (1, 1, 101, '2020-05-01', 0), (2, 1, 101, '2021-05-01', 0), (3, 2, 101, '2009-01-01', 0),
    (4, 3, 101, '2010-12-31', 0), (5, 4, 101, '2010-06-01', 0), (6, 4, 101, '2009-06-01', 0),
    (7, 99, 101, '2020-01-01', 0), (8, 5, 112, '2020-01-01', 0), (9, 5, 111, '2020-01-01', 0),
    (10, 5, 110, '2020-01-01', 0), (11, 5, 109, '2020-01-01', 0), (12, 5, 108, '2020-01-01', 0),
    (13, 5, 107, '2020-01-01', 0), (14, 5, 106, '2020-01-01', 0), (15, 5, 105, '2020-01-01', 0),
    (16, 5, 104, '2020-01-01', 0), (17, 5, 103, '2020-01-01', 0), (18, 5, 102, '2020-01-01', 0),
    (19, 1, 112, '2020-01-01', 0), (20, 99, 111, '2020-01-01', 0), (21, 99, 111, '2020-02-01', 0);
INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id,
                           drug_exposure_start_date, drug_exposure_end_date,
                           drug_type_concept_id) VALUES
    (1, 1, 7, '2020-01-01', '2020-01-30', 0), (2, 1, 7, '2020-02-01', '2020-02-28', 0),
    (3, 1, 8, '2020-01-01', '2020-01-30', 0), (4, 2, 7, '2020-01-01', '2020-01-30', 0),
    (5, 99, 7, '2020-01-01', '2020-01-30', 0);
INSERT INTO concept_ancestor VALUES
    (50, 50, 0, 0), (50, 51, 1, 1), (50, 52, 2, 3), (50, 52, 1, 2), (50, 51, 1, 1),
    (51, 52, 1, 1), (60, 50, 1, 1);
INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id,
                              visit_start_date, visit_end_date, visit_type_concept_id) VALUES
    (1, 1, 9202, '2019-12-31', '2020-01-01', 0), (2, 1, 9202, '2020-01-01', '2020-01-01', 0),
    (3, 2, 9201, '2020-12-31', '2021-01-02', 0), (4, 3, 9202, '2019-06-01', '2019-06-01', 0);
INSERT INTO condition_era VALUES
    (1, 1, 101, '2020-05-01', '2020-06-01', 1), (2, 2, 101, '2009-01-01', '2009-01-01', 1),
    (3, 4, 101, '2009-06-01', '2010-06-01', 2), (4, 99, 101, '2020-01-01', '2020-01-01', 1),
    (5, 5, 102, '2020-01-01', '2020-01-01', 1), (6, 3, 102, '2020-01-01', '2020-01-01', 1);
INSERT INTO drug_era VALUES
    (1, 1, 7, '2020-01-01', '2020-01-02', 1, 0), (2, 1, 7, '2020-02-01', '2020-02-03', 1, 0),
    (3, 2, 7, '2020-02-28', '2020-03-01', 1, 0), (4, 2, 8, '2019-12-31', '2020-01-04', 1, 0),
    (5, 3, 8, '2020-01-01', '2020-01-06', 1, 0);
"""


def run_edges(tmp, found):
    out = os.path.join(tmp, "edges.sqlite")
    db = sqlite3.connect(out)
    with open(os.path.join(SOURCE, "bench", "omop", "cdm54.sql")) as f:
        db.executescript(f.read())
    db.executescript(EDGE_ROWS)
    db.commit()
    tables = read_sqlite(db)
    params = {"condition_concept_id": 101, "ancestor_concept_id": 50}
    checked = collections.defaultdict(list)
    for number in sorted(EXPECTED):
        check_analysis(db, "edges", number, found[number], tables, params, checked)
        if not checked[number]:
            fail("analysis %s not checked on the hand-made edge cases" % number)
    db.close()


def main():
    loader, gen = sys.argv[1], sys.argv[2]
    if not all(os.path.isfile(os.path.join(SHARED, d[1])) for d in DATASETS):
        print("SKIP: the shared OMOP extracts are not in %s" % os.path.abspath(SHARED))
        return 77
    found = analyses()
    if sorted(found) != sorted(EXPECTED):
        fail("analyses found: %s" % sorted(found))
        return 1
    checked = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in DATASETS:
            run_dataset(loader, tmp, dataset, found, checked)
        run_synthetic(gen, tmp, found)
        run_edges(tmp, found)
    for number in sorted(EXPECTED):
        if not checked[number]:
            fail("analysis %s is checked on no shipped dataset" % number)
        else:
            print("analysis %s checked on %s" % (number, ", ".join(checked[number])))
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
