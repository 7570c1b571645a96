/* The file life cycle shared by the CDM generator and the CDM loader. */
#include "bench/cdmdb.h"

#include "proxy/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool cdmdb_exec(sqlite3 *db, const char *sql)
{
    char *message = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &message) == SQLITE_OK)
        return true;
    fprintf(stderr, "sqlite: %s\n", message ? message : sqlite3_errmsg(db));
    sqlite3_free(message);
    return false;
}

sqlite3_stmt *cdmdb_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s in: %.200s\n", sqlite3_errmsg(db), sql);
        return NULL;
    }
    return stmt;
}

double cdmdb_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The load runs without a journal: the file is private until the rename, and
 * a failed build is deleted, never repaired. */
static const char cdmdb_load_pragmas[] = "PRAGMA journal_mode=OFF;"
                                         "PRAGMA synchronous=OFF;"
                                         "PRAGMA locking_mode=EXCLUSIVE;"
                                         "PRAGMA cache_size=-262144;";

bool cdmdb_create(struct cdmdb *cdm, const char *out_path, const char *ddl)
{
    int fd;

    memset(cdm, 0, sizeof(*cdm));
    cdm->out_path = xstrdup(out_path);
    cdm->temp_path = xmalloc(strlen(out_path) + 16);
    sprintf(cdm->temp_path, "%s.tmp-XXXXXX", out_path);
    fd = mkstemp(cdm->temp_path);
    if (fd < 0) {
        fprintf(stderr, "cannot create %s: %s\n", cdm->temp_path, strerror(errno));
        goto fail_free;
    }
    close(fd);
    if (sqlite3_open(cdm->temp_path, &cdm->db) != SQLITE_OK) {
        fprintf(stderr, "sqlite: cannot open %s: %s\n", cdm->temp_path, sqlite3_errmsg(cdm->db));
        goto fail_unlink;
    }
    if (!cdmdb_exec(cdm->db, cdmdb_load_pragmas) || !cdmdb_exec(cdm->db, ddl) ||
        !cdmdb_exec(cdm->db, "BEGIN"))
        goto fail_unlink;
    return true;

fail_unlink:
    cdmdb_abort(cdm);
    return false;
fail_free:
    free(cdm->out_path);
    free(cdm->temp_path);
    cdm->out_path = cdm->temp_path = NULL;
    return false;
}

void cdmdb_abort(struct cdmdb *cdm)
{
    if (cdm->db)
        sqlite3_close(cdm->db);
    if (cdm->temp_path)
        unlink(cdm->temp_path);
    free(cdm->out_path);
    free(cdm->temp_path);
    memset(cdm, 0, sizeof(*cdm));
}

/* Makes the file's bytes and then its name durable. */
static bool cdmdb_sync_rename(const char *from, const char *to)
{
    char *dir_copy = xstrdup(to);
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && fsync(fd) == 0;

    if (fd >= 0)
        close(fd);
    ok = ok && chmod(from, 0644) == 0 && rename(from, to) == 0;
    if (!ok)
        fprintf(stderr, "cannot move %s to %s: %s\n", from, to, strerror(errno));
    fd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir_copy);
    return ok;
}

/* Runs one key statement; a repeated key may turn it into a plain index. */
static bool cdmdb_key(sqlite3 *db, sqlite3_stmt *stmt, bool strict)
{
    const char *sql = sqlite3_sql(stmt);
    const char *unique = strstr(sql, "UNIQUE ");
    char *plain;
    bool ok;

    if (sqlite3_step(stmt) == SQLITE_DONE)
        return true;
    if (strict || sqlite3_errcode(db) != SQLITE_CONSTRAINT || !unique) {
        fprintf(stderr, "sqlite: %s in: %s\n", sqlite3_errmsg(db), sql);
        return false;
    }
    plain = xmalloc(strlen(sql) + 1);
    sprintf(plain, "%.*s%s", (int)(unique - sql), sql, unique + strlen("UNIQUE "));
    fprintf(stderr, "warning: repeated primary key values, plain index instead: %s\n",
            plain + strspn(plain, " \n"));
    ok = cdmdb_exec(db, plain);
    free(plain);
    return ok;
}

static bool cdmdb_keys(sqlite3 *db, bool strict)
{
    const char *next = cdm_sql_primary_keys;
    bool ok = true;

    while (ok && *next) {
        sqlite3_stmt *stmt = NULL;

        if (sqlite3_prepare_v2(db, next, -1, &stmt, &next) != SQLITE_OK) {
            fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
            return false;
        }
        if (stmt)
            ok = cdmdb_key(db, stmt, strict);
        sqlite3_finalize(stmt);
    }
    return ok;
}

bool cdmdb_finish(struct cdmdb *cdm, bool strict_keys)
{
    bool ok = cdmdb_exec(cdm->db, "COMMIT") && cdmdb_keys(cdm->db, strict_keys) &&
              cdmdb_exec(cdm->db, cdm_sql_indexes) && cdmdb_exec(cdm->db, "ANALYZE") &&
              cdmdb_exec(cdm->db, "PRAGMA journal_mode=DELETE");

    if (sqlite3_close(cdm->db) != SQLITE_OK)
        ok = false;
    cdm->db = NULL;
    ok = ok && cdmdb_sync_rename(cdm->temp_path, cdm->out_path);
    if (!ok) {
        cdmdb_abort(cdm);
        return false;
    }
    free(cdm->out_path);
    free(cdm->temp_path);
    memset(cdm, 0, sizeof(*cdm));
    return true;
}
