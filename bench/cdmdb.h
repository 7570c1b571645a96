/* Building a CDM database file: a temporary file beside the target, loaded in
 * one transaction, indexed afterwards, switched to the rollback journal (a
 * read-only bind mount cannot open a WAL database) and renamed into place. */
#ifndef OMCP_CDMDB_H
#define OMCP_CDMDB_H

#include <sqlite3.h>
#include <stdbool.h>

/* The project's SQL, compiled in from bench/omop/ by the build. */
extern const char cdm_sql_cdm54[];
extern const char cdm_sql_cdm53[];
extern const char cdm_sql_primary_keys[];
extern const char cdm_sql_indexes[];

struct cdmdb {
    sqlite3 *db;
    char *out_path;  /* where the finished file goes */
    char *temp_path; /* where it is built */
};

/* Creates the temporary file, applies ddl and opens the load transaction. */
bool cdmdb_create(struct cdmdb *cdm, const char *out_path, const char *ddl);

/* Commits, builds keys, indexes and statistics, and renames the file into
 * place. With strict_keys a repeated primary key fails the build; without,
 * that key becomes a plain index and a warning names it. On failure the
 * temporary file is removed. */
bool cdmdb_finish(struct cdmdb *cdm, bool strict_keys);

/* Gives up: closes and removes the temporary file. */
void cdmdb_abort(struct cdmdb *cdm);

/* Runs sql, printing the database's message on failure. */
bool cdmdb_exec(sqlite3 *db, const char *sql);

/* Prepares sql, printing the database's message on failure. */
sqlite3_stmt *cdmdb_prepare(sqlite3 *db, const char *sql);

/* Seconds on the monotonic clock, for the timings the tools print. */
double cdmdb_now(void);

#endif
