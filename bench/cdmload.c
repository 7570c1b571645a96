/* omcp-cdmload: builds a SQLite CDM from an OMOP extract (a zip or tar.gz of
 * one CSV file per table), reading the archive as a stream. */
#include "bench/cdmcsv.h"
#include "bench/cdmdb.h"

#include "proxy/mem.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOAD_MAX_RECORD (16u << 20) /* a 16 MiB record is surely not CDM data */
#define LOAD_MAX_FIELDS 512
#define LOAD_MAX_TABLES 128

enum load_type {
    LOAD_TEXT,    /* stored as given */
    LOAD_INTEGER, /* whole number, stored as an integer */
    LOAD_NUMERIC, /* number, stored as integer or real */
    LOAD_DATE,    /* YYYY-MM-DD; a time part after it is dropped */
};

/* One CSV member being loaded into its table. */
struct load_table {
    char name[64];
    sqlite3 *db;
    sqlite3_stmt *insert; /* prepared once the header is read */
    enum load_type *types;
    size_t ncolumns;
    long long rows;
    char error[256];
};

/* A CDM version the loader knows: its DDL and the name it prints. */
struct load_version {
    const char *name;
    const char *ddl;
};

static const struct load_version load_versions[] = {
    {"5.4", cdm_sql_cdm54},
    {"5.3", cdm_sql_cdm53},
};

static enum load_type load_type_of(const char *declared)
{
    if (!declared)
        return LOAD_TEXT;
    if (strcasecmp(declared, "INTEGER") == 0 || strcasecmp(declared, "BIGINT") == 0)
        return LOAD_INTEGER;
    if (strcasecmp(declared, "NUMERIC") == 0)
        return LOAD_NUMERIC;
    if (strcasecmp(declared, "DATE") == 0)
        return LOAD_DATE;
    return LOAD_TEXT;
}

/* The declared type of table.column, or false when there is no such column.
 * Names are compared without regard to case: extracts differ in this. */
static bool load_column_type(sqlite3 *db, const char *table, const char *column,
                             enum load_type *type)
{
    static const char sql[] = "SELECT type FROM pragma_table_info(?1) WHERE lower(name) = ?2";
    sqlite3_stmt *stmt = cdmdb_prepare(db, sql);
    bool found = false;

    if (!stmt)
        return false;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, column, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        *type = load_type_of((const char *)sqlite3_column_text(stmt, 0));
        found = true;
    }
    sqlite3_finalize(stmt);
    return found;
}

/* Lower-cases a header name in place and checks it is a plain identifier,
 * so it can be quoted into SQL safely. */
static bool load_identifier(char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > 63)
        return false;
    for (char *p = name; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
            return false;
    }
    return true;
}

static bool load_fail(struct load_table *table, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool load_fail(struct load_table *table, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(table->error, sizeof(table->error), fmt, ap);
    va_end(ap);
    return false;
}

/* Reads the header: every column must be one the DDL declares for the table.
 * The insert names the columns, so their order in the file does not matter;
 * columns the file lacks stay NULL. */
static bool load_header(struct load_table *table, const struct cdmcsv_record *record)
{
    struct buf sql = BUF_INIT;
    bool ok = false;

    table->ncolumns = record->nfields;
    table->types = xcalloc(record->nfields, sizeof(*table->types));
    buf_printf(&sql, "INSERT INTO \"%s\" (", table->name);
    for (size_t i = 0; i < record->nfields; i++) {
        char *column = (char *)record->fields[i];

        if (!load_identifier(column)) {
            load_fail(table, "column %zu has no usable name", i + 1);
            goto done;
        }
        if (!load_column_type(table->db, table->name, column, &table->types[i])) {
            load_fail(table, "column %s is not in the CDM table", column);
            goto done;
        }
        buf_printf(&sql, "%s\"%s\"", i ? ", " : "", column);
    }
    buf_puts(&sql, ") VALUES (");
    for (size_t i = 0; i < record->nfields; i++)
        buf_puts(&sql, i ? ", ?" : "?");
    buf_puts(&sql, ")");
    table->insert = cdmdb_prepare(table->db, sql.data);
    ok = table->insert != NULL;
    if (!ok)
        load_fail(table, "header does not fit the table (repeated column?)");
done:
    buf_free(&sql);
    return ok;
}

static bool load_parse_integer(const char *text, sqlite3_int64 *value)
{
    char *end;
    double real;

    errno = 0;
    *value = strtoll(text, &end, 10);
    if (errno == 0 && end != text && *end == '\0')
        return true;
    /* Some extracts write whole numbers as "3.0". */
    errno = 0;
    real = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(real) || real != floor(real) ||
        fabs(real) > 9.0e15)
        return false;
    *value = (sqlite3_int64)real;
    return true;
}

static bool load_is_date(const char *text)
{
    static const char pattern[] = "dddd-dd-dd";

    for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
        if (pattern[i] == 'd' ? !isdigit((unsigned char)text[i]) : text[i] != pattern[i])
            return false;
    }
    return text[10] == '\0' || text[10] == ' ' || text[10] == 'T';
}

/* Binds one field by the column's declared type; an empty field is NULL. */
static bool load_bind(struct load_table *table, int index, enum load_type type, const char *text,
                      size_t line)
{
    sqlite3_stmt *stmt = table->insert;
    sqlite3_int64 integer;
    char *end;
    double real;

    if (text[0] == '\0')
        return sqlite3_bind_null(stmt, index) == SQLITE_OK;
    switch (type) {
    case LOAD_INTEGER:
        if (!load_parse_integer(text, &integer))
            return load_fail(table, "line %zu column %d: not an integer", line, index);
        return sqlite3_bind_int64(stmt, index, integer) == SQLITE_OK;
    case LOAD_NUMERIC:
        if (load_parse_integer(text, &integer))
            return sqlite3_bind_int64(stmt, index, integer) == SQLITE_OK;
        errno = 0;
        real = strtod(text, &end);
        if (errno != 0 || end == text || *end != '\0' || !isfinite(real))
            return load_fail(table, "line %zu column %d: not a number", line, index);
        return sqlite3_bind_double(stmt, index, real) == SQLITE_OK;
    case LOAD_DATE:
        if (!load_is_date(text))
            return load_fail(table, "line %zu column %d: not a YYYY-MM-DD date", line, index);
        return sqlite3_bind_text(stmt, index, text, 10, SQLITE_STATIC) == SQLITE_OK;
    default:
        return sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC) == SQLITE_OK;
    }
}

static bool load_row(struct load_table *table, const struct cdmcsv_record *record)
{
    if (record->nfields != table->ncolumns)
        return load_fail(table, "line %zu: %zu fields, the header has %zu", record->line,
                         record->nfields, table->ncolumns);
    for (size_t i = 0; i < record->nfields; i++) {
        if (!load_bind(table, (int)i + 1, table->types[i], record->fields[i], record->line))
            return false;
    }
    if (sqlite3_step(table->insert) != SQLITE_DONE)
        return load_fail(table, "line %zu: %s", record->line, sqlite3_errmsg(table->db));
    sqlite3_reset(table->insert);
    table->rows++;
    return true;
}

static bool load_record(void *ctx, const struct cdmcsv_record *record)
{
    struct load_table *table = ctx;

    if (!table->insert)
        return load_header(table, record);
    return load_row(table, record);
}

/* The header pass stops after the first record; table->error tells whether
 * the header fitted. */
static bool load_record_header_only(void *ctx, const struct cdmcsv_record *record)
{
    load_header(ctx, record);
    return false;
}

/* One run of the loader over one archive. */
struct load_run {
    const char *name;    /* the CDM's name, for messages */
    const char *in_path; /* the archive */
    sqlite3 *db;         /* where rows go */
    bool header_only;    /* first pass: check headers against the DDL */
    long long rows;      /* rows loaded in all tables */
    size_t ntables;
    char tables[LOAD_MAX_TABLES][64]; /* tables seen, to refuse a repeat */
    char error[400];                  /* why the run failed */
};

/* Maps an archive member to its table: "Dir/CONCEPT.csv" -> "concept".
 * Returns false for members that are not tables (macOS resource forks,
 * anything not named .csv). */
static bool load_member_table(const char *path, char *table, size_t size)
{
    const char *base = strrchr(path, '/');
    size_t len;

    if (strncmp(path, "__MACOSX/", 9) == 0 || strstr(path, "/__MACOSX/"))
        return false;
    base = base ? base + 1 : path;
    len = strlen(base);
    if (base[0] == '.' || len <= 4 || len - 4 >= size || strcasecmp(base + len - 4, ".csv") != 0)
        return false;
    memcpy(table, base, len - 4);
    table[len - 4] = '\0';
    return true;
}

static bool load_table_exists(sqlite3 *db, const char *table)
{
    static const char sql[] = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1";
    sqlite3_stmt *stmt = cdmdb_prepare(db, sql);
    bool found;

    if (!stmt)
        return false;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return found;
}

static long long load_count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = cdmdb_prepare(db, sql);
    long long count = -1;

    if (stmt && sqlite3_step(stmt) == SQLITE_ROW)
        count = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return count;
}

/* Checks that the table holds exactly the rows read from its file. */
static bool load_check_count(struct load_table *table)
{
    char sql[128];
    long long count;

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM \"%s\"", table->name);
    count = load_count(table->db, sql);
    if (count != table->rows)
        return load_fail(table, "table holds %lld rows, the file has %lld", count, table->rows);
    return true;
}

/* Streams one member through the CSV reader into its table. */
static bool load_stream(struct archive *archive, struct load_table *table, bool header_only)
{
    char chunk[65536];
    struct cdmcsv csv;
    cdmcsv_record_fn fn = header_only ? load_record_header_only : load_record;
    bool ok = true;
    la_ssize_t n;

    cdmcsv_init(&csv, LOAD_MAX_RECORD, LOAD_MAX_FIELDS);
    while (ok && (n = archive_read_data(archive, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            ok = load_fail(table, "archive: %s", archive_error_string(archive));
            break;
        }
        ok = cdmcsv_feed(&csv, chunk, (size_t)n, fn, table);
    }
    if (ok)
        ok = cdmcsv_finish(&csv, fn, table);
    if (!ok && csv.stopped && header_only && !table->error[0])
        ok = true;
    if (!ok && !table->error[0])
        load_fail(table, "csv: %s", csv.error);
    if (ok && !table->insert)
        ok = load_fail(table, "no header line");
    cdmcsv_free(&csv);
    return ok && !table->error[0];
}

static bool load_seen_before(struct load_run *run, const char *table)
{
    for (size_t i = 0; i < run->ntables; i++) {
        if (strcmp(run->tables[i], table) == 0)
            return true;
    }
    if (run->ntables < LOAD_MAX_TABLES)
        snprintf(run->tables[run->ntables++], sizeof(run->tables[0]), "%s", table);
    return false;
}

static bool load_member(struct load_run *run, struct archive *archive, const char *path)
{
    struct load_table table = {.db = run->db};
    bool ok = false;

    if (!load_member_table(path, table.name, sizeof(table.name)))
        return true;
    if (!load_identifier(table.name))
        load_fail(&table, "not a table name");
    else if (!load_table_exists(run->db, table.name))
        load_fail(&table, "no such table in the CDM");
    else if (load_seen_before(run, table.name) || run->ntables >= LOAD_MAX_TABLES)
        load_fail(&table, "table appears twice (or too many tables)");
    else if (load_stream(archive, &table, run->header_only))
        ok = run->header_only || load_check_count(&table);
    if (ok && !run->header_only) {
        printf("%s: %-24s %10lld rows\n", run->name, table.name, table.rows);
        run->rows += table.rows;
    }
    if (!ok)
        snprintf(run->error, sizeof(run->error), "%s (%s): %s", path, table.name, table.error);
    sqlite3_finalize(table.insert);
    free(table.types);
    return ok;
}

/* Runs load_member over every regular file in the archive. */
static bool load_archive(struct load_run *run)
{
    struct archive *archive = archive_read_new();
    struct archive_entry *entry;
    bool ok = true;
    int status = ARCHIVE_OK;

    archive_read_support_filter_all(archive);
    archive_read_support_format_all(archive);
    if (archive_read_open_filename(archive, run->in_path, 65536) != ARCHIVE_OK) {
        snprintf(run->error, sizeof(run->error), "%s", archive_error_string(archive));
        archive_read_free(archive);
        return false;
    }
    while (ok && (status = archive_read_next_header(archive, &entry)) == ARCHIVE_OK) {
        if (archive_entry_filetype(entry) == AE_IFREG)
            ok = load_member(run, archive, archive_entry_pathname(entry));
    }
    if (ok && status != ARCHIVE_EOF) {
        snprintf(run->error, sizeof(run->error), "%s", archive_error_string(archive));
        ok = false;
    }
    archive_read_free(archive);
    return ok;
}

/* Picks the first CDM version whose DDL has a table and column for every
 * header in the archive, trying them in an in-memory database. */
static const struct load_version *load_detect_version(const char *in_path)
{
    for (size_t i = 0; i < sizeof(load_versions) / sizeof(load_versions[0]); i++) {
        struct load_run run = {.name = "detect", .in_path = in_path, .header_only = true};
        bool fits;

        if (sqlite3_open(":memory:", &run.db) != SQLITE_OK)
            panic("sqlite: cannot open an in-memory database");
        fits = cdmdb_exec(run.db, load_versions[i].ddl) && load_archive(&run);
        sqlite3_close(run.db);
        if (fits)
            return &load_versions[i];
        fprintf(stderr, "%s: not CDM %s (%s)\n", in_path, load_versions[i].name, run.error);
    }
    return NULL;
}

static const struct load_version *load_version_named(const char *name)
{
    for (size_t i = 0; i < sizeof(load_versions) / sizeof(load_versions[0]); i++) {
        if (strcmp(load_versions[i].name, name) == 0)
            return &load_versions[i];
    }
    return NULL;
}

/* Real extracts are not always closed under person_id; say so, since
 * analyses that join person will not see these rows. */
static void load_report_orphans(struct load_run *run)
{
    long long orphans =
        load_count(run->db, "SELECT COUNT(*) FROM observation_period "
                            "WHERE person_id NOT IN (SELECT person_id FROM person)");

    if (orphans > 0)
        printf("%s: observation_period rows without a person: %lld (kept as they are; "
               "the CDM declares no foreign keys)\n",
               run->name, orphans);
}

static int load_usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s --name NAME --in ARCHIVE --out FILE.sqlite [--cdm-version 5.3|5.4]\n"
            "Loads an OMOP CDM extract (zip or tar.gz of CSV tables) into SQLite.\n",
            argv0);
    return 2;
}

/* Reads the command line into run and the output path; false on misuse. */
static bool load_options(int argc, char **argv, struct load_run *run, const char **out_path,
                         const char **version_name)
{
    static const struct option options[] = {
        {"name", required_argument, NULL, 'n'}, {"in", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},  {"cdm-version", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'n')
            run->name = optarg;
        else if (c == 'i')
            run->in_path = optarg;
        else if (c == 'o')
            *out_path = optarg;
        else if (c == 'v')
            *version_name = optarg;
        else
            return false;
    }
    return run->name && run->in_path && *out_path && optind == argc;
}

int main(int argc, char **argv)
{
    const struct load_version *version = NULL;
    const char *out_path = NULL, *version_name = NULL;
    struct load_run run = {.name = NULL};
    struct cdmdb cdm;
    double started = cdmdb_now();

    if (!load_options(argc, argv, &run, &out_path, &version_name))
        return load_usage(argv[0]);
    version = version_name ? load_version_named(version_name) : load_detect_version(run.in_path);
    if (!version) {
        fprintf(stderr, "%s: no CDM version fits %s\n", run.name, run.in_path);
        return 1;
    }
    if (!cdmdb_create(&cdm, out_path, version->ddl))
        return 1;
    run.db = cdm.db;
    if (!load_archive(&run)) {
        fprintf(stderr, "%s: %s\n", run.name, run.error);
        cdmdb_abort(&cdm);
        return 1;
    }
    load_report_orphans(&run);
    if (!cdmdb_finish(&cdm, false))
        return 1;
    printf("%s: cdm %s, %zu tables, %lld rows, %.2f s -> %s\n", run.name, version->name,
           run.ntables, run.rows, cdmdb_now() - started, out_path);
    return 0;
}
