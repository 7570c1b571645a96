#!/usr/bin/env python3
"""The synthetic CDM from omcp-cdmgen: deterministic for a seed, row counts as
reported, every foreign key resolving, events inside observation, eras rebuilt
here from the occurrences and compared row for row, a rollback-journal file
that opens read-only. Usage: cdm_generated.py OMCP-CDMGEN"""
import collections
import datetime
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

PERSONS = 3000
ERA_GAP = 30  # the persistence window docs/cdm.md gives for both era tables
failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def generate(gen, persons, seed, out):
    run = subprocess.run([gen, "--persons", str(persons), "--seed", str(seed), "--out", out],
                         capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        sys.exit("FAIL: omcp-cdmgen exited %d: %s" % (run.returncode, run.stderr))
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+) rows$", run.stdout, re.M)}


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def scalar(db, sql, *args):
    return db.execute(sql, args).fetchone()[0]


def check_counts(db, reported):
    if scalar(db, "SELECT COUNT(*) FROM person") != PERSONS:
        fail("person count is not %d" % PERSONS)
    for table, rows in reported.items():
        got = scalar(db, "SELECT COUNT(*) FROM %s" % table)
        if got != rows:
            fail("%s holds %d rows, the generator reported %d" % (table, got, rows))
        if rows == 0:
            fail("%s is empty" % table)
    for table in ("concept", "concept_ancestor", "concept_relationship", "vocabulary",
                  "domain", "concept_class", "relationship", "cdm_source"):
        if scalar(db, "SELECT COUNT(*) FROM %s" % table) == 0:
            fail("vocabulary table %s is empty" % table)


# (table, column, referenced table, referenced column)
FOREIGN_KEYS = [
    (t, "person_id", "person", "person_id")
    for t in ("observation_period", "death", "visit_occurrence", "condition_occurrence",
              "drug_exposure", "measurement", "observation", "procedure_occurrence",
              "condition_era", "drug_era")
] + [
    (t, "visit_occurrence_id", "visit_occurrence", "visit_occurrence_id")
    for t in ("condition_occurrence", "drug_exposure", "measurement", "observation",
              "procedure_occurrence")
] + [
    ("concept", "domain_id", "domain", "domain_id"),
    ("concept", "vocabulary_id", "vocabulary", "vocabulary_id"),
    ("concept", "concept_class_id", "concept_class", "concept_class_id"),
    ("concept_relationship", "relationship_id", "relationship", "relationship_id"),
    ("concept_ancestor", "ancestor_concept_id", "concept", "concept_id"),
    ("concept_ancestor", "descendant_concept_id", "concept", "concept_id"),
]


def concept_columns(db):
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in db.execute("SELECT name FROM pragma_table_info(?)", (table,)):
            if row[0].endswith("concept_id") and scalar(db, "SELECT COUNT(%s) FROM %s" %
                                                         (row[0], table)) > 0:
                yield (table, row[0], "concept", "concept_id")


def check_foreign_keys(db):
    keys = FOREIGN_KEYS + list(concept_columns(db))
    for table, column, ref, ref_column in keys:
        bad = scalar(db, "SELECT COUNT(*) FROM %s WHERE %s IS NOT NULL AND %s NOT IN "
                     "(SELECT %s FROM %s)" % (table, column, column, ref_column, ref))
        if bad:
            fail("%d rows of %s.%s do not resolve in %s" % (bad, table, column, ref))
    for table in ("condition_occurrence", "drug_exposure", "measurement", "observation",
                  "procedure_occurrence"):
        bad = scalar(db, "SELECT COUNT(*) FROM %s t JOIN visit_occurrence v USING "
                     "(visit_occurrence_id) WHERE v.person_id <> t.person_id" % table)
        if bad:
            fail("%d rows of %s point at another person's visit" % (bad, table))
    print("foreign keys checked: %d" % len(keys))


# Event tables and their date columns: each event lies in an observation period.
EVENT_DATES = [
    ("visit_occurrence", "visit_start_date", "visit_end_date"),
    ("condition_occurrence", "condition_start_date", "condition_start_date"),
    ("drug_exposure", "drug_exposure_start_date", "drug_exposure_end_date"),
    ("measurement", "measurement_date", "measurement_date"),
    ("observation", "observation_date", "observation_date"),
    ("procedure_occurrence", "procedure_date", "procedure_date"),
    ("death", "death_date", "death_date"),
]


def check_dates(db):
    for table, start, end in EVENT_DATES:
        bad = scalar(db, "SELECT COUNT(*) FROM %s e WHERE NOT EXISTS (SELECT 1 FROM "
                     "observation_period o WHERE o.person_id = e.person_id AND %s >= "
                     "o.observation_period_start_date AND %s <= o.observation_period_end_date)"
                     % (table, start, end))
        if bad:
            fail("%d rows of %s lie outside every observation period" % (bad, table))
    bad = scalar(db, "SELECT COUNT(*) FROM observation_period o JOIN person p USING (person_id) "
                 "WHERE observation_period_start_date > observation_period_end_date OR "
                 "CAST(substr(observation_period_start_date, 1, 4) AS INTEGER) < year_of_birth")
    if bad:
        fail("%d observation periods end before they start or begin before birth" % bad)
    if scalar(db, "SELECT COUNT(*) - COUNT(DISTINCT person_id) FROM death"):
        fail("a person dies twice")


def day(text):
    y, m, d = (int(x) for x in text.split("-"))
    return datetime.date(y, m, d).toordinal()


def eras(events):
    """Merges (person, concept, start, end) events whose start is within
    ERA_GAP days of the running era end. Returns {(person, concept, start,
    end): (count, gap_days)}."""
    out = {}
    groups = collections.defaultdict(list)
    for person, concept, start, end in events:
        groups[(person, concept)].append((day(start), day(end)))
    for (person, concept), spans in groups.items():
        spans.sort()
        i = 0
        while i < len(spans):
            start, end = spans[i]
            count, gap, k = 1, 0, i + 1
            while k < len(spans) and spans[k][0] <= end + ERA_GAP:
                gap += max(0, spans[k][0] - end - 1)
                end = max(end, spans[k][1])
                count, k = count + 1, k + 1
            out[(person, concept, start, end)] = (count, gap)
            i = k
    return out


def check_eras(db):
    conditions = eras(db.execute("SELECT person_id, condition_concept_id, condition_start_date, "
                                 "COALESCE(condition_end_date, condition_start_date) "
                                 "FROM condition_occurrence"))
    conditions = {key: count for key, (count, _) in conditions.items()}
    table = {(p, c, day(s), day(e)): n for p, c, s, e, n in db.execute(
        "SELECT person_id, condition_concept_id, condition_era_start_date, "
        "condition_era_end_date, condition_occurrence_count FROM condition_era")}
    if table != conditions:
        fail("condition_era differs from eras rebuilt from condition_occurrence (%d vs %d rows)"
             % (len(table), len(conditions)))
    drugs = eras(db.execute("SELECT person_id, drug_concept_id, drug_exposure_start_date, "
                            "drug_exposure_end_date FROM drug_exposure"))
    table = {(p, c, day(s), day(e)): (n, g) for p, c, s, e, n, g in db.execute(
        "SELECT person_id, drug_concept_id, drug_era_start_date, drug_era_end_date, "
        "drug_exposure_count, gap_days FROM drug_era")}
    if table != drugs:
        fail("drug_era differs from eras rebuilt from drug_exposure (%d vs %d rows)"
             % (len(table), len(drugs)))
    print("eras rebuilt: %d condition, %d drug" % (len(conditions), len(drugs)))


def check_shapes(db):
    male = scalar(db, "SELECT AVG(gender_concept_id = 8507) FROM person")
    if not 0.44 < male < 0.56:
        fail("share of men %.2f" % male)
    ages = scalar(db, "SELECT MAX(2024 - year_of_birth) FROM person")
    if not 80 <= ages <= 110:
        fail("oldest person is %d" % ages)
    young, old = db.execute(
        "SELECT AVG(CASE WHEN 2024 - year_of_birth < 40 THEN h END), "
        "AVG(CASE WHEN 2024 - year_of_birth >= 60 THEN h END) FROM (SELECT p.year_of_birth, "
        "EXISTS (SELECT 1 FROM condition_occurrence c WHERE c.person_id = p.person_id AND "
        "condition_concept_id = 320128) AS h FROM person p)").fetchone()
    if not old > 2 * young:
        fail("hypertension is not commoner with age: %.3f under 40, %.3f over 60" % (young, old))


def check_file(path):
    with open(path, "rb") as f:
        header = f.read(100)
    if header[18] != 1 or header[19] != 1:
        fail("file format versions %d/%d: not a rollback-journal database" % header[18:20])
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    if scalar(db, "PRAGMA journal_mode") != "delete":
        fail("journal mode is not DELETE")
    try:
        db.execute("DELETE FROM person")
        fail("a read-only connection could write")
    except sqlite3.OperationalError:
        pass
    db.close()
    leftovers = [n for n in os.listdir(os.path.dirname(path)) if "tmp-" in n or n.endswith("-wal")]
    if leftovers:
        fail("files left beside the CDM: %s" % leftovers)


def main():
    gen = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        first, second, other = (os.path.join(tmp, n) for n in ("a.sqlite", "b.sqlite", "c.sqlite"))
        reported = generate(gen, PERSONS, 7, first)
        generate(gen, PERSONS, 7, second)
        generate(gen, PERSONS, 8, other)
        if digest(first) != digest(second):
            fail("the same seed gave different files")
        if digest(first) == digest(other):
            fail("different seeds gave the same file")
        check_file(first)
        db = sqlite3.connect("file:%s?mode=ro" % first, uri=True)
        check_counts(db, reported)
        check_foreign_keys(db)
        check_dates(db)
        check_eras(db)
        check_shapes(db)
        db.close()
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
