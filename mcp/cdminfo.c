/* describe_cdm's reading of a CDM on the host: an embedded SQLite file, or
 * the description the PostgreSQL loader left beside it. */
#include "mcp/cdminfo.h"

#include "proxy/buf.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The first column of every row of sql as strings. */
static json_t *cdm_column(sqlite3 *db, const char *sql)
{
    json_t *values = json_array();
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return values;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(st, 0);

        if (text)
            json_array_append_new(values, json_string((const char *)text));
    }
    sqlite3_finalize(st);
    return values;
}

static json_int_t cdm_count(sqlite3 *db, const char *table)
{
    struct buf sql = BUF_INIT;
    sqlite3_stmt *st;
    json_int_t rows = -1;

    buf_printf(&sql, "SELECT count(*) FROM \"%s\"", table);
    if (!strchr(table, '"') && sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            rows = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    buf_free(&sql);
    return rows;
}

static json_t *cdm_tables(sqlite3 *db)
{
    json_t *names = cdm_column(
        db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name");
    json_t *tables = json_array();
    size_t i;
    json_t *name;

    json_array_foreach(names, i, name)
    {
        const char *table = json_string_value(name);

        json_array_append_new(tables,
                              json_pack("{s:s,s:I}", "name", table, "rows", cdm_count(db, table)));
    }
    json_decref(names);
    return tables;
}

/* The first value of a cdm_source column, or JSON null. */
static json_t *cdm_source_field(sqlite3 *db, const char *column)
{
    struct buf sql = BUF_INIT;
    json_t *values, *first;

    buf_printf(&sql, "SELECT %s FROM cdm_source LIMIT 1", column);
    values = cdm_column(db, sql.data);
    first = json_array_size(values) ? json_incref(json_array_get(values, 0)) : json_null();
    json_decref(values);
    buf_free(&sql);
    return first;
}

/* The fields describe_cdm shows of a <name>.pg description. */
static const char *const cdm_pg_fields[] = {
    "database", "cdm_version", "cdm_source_name", "loaded_at", "tables", "vocabularies",
};

/* A CDM on PostgreSQL, from the description bench/pg-cdm.sh wrote when it
 * loaded the database: the daemon holds no credential to ask the cluster. */
static json_t *cdm_describe_pg(const char *dir, const char *name)
{
    struct buf path = BUF_INIT;
    json_error_t error;
    json_t *cdm = json_pack("{s:s,s:s}", "name", name, "source", "postgresql");
    json_t *saved;

    buf_printf(&path, "%s/%s.pg", dir, name);
    saved = json_load_file(path.data, JSON_REJECT_DUPLICATES, &error);
    if (!json_is_object(saved)) {
        json_object_set_new(cdm, "error", json_string(saved ? "not a JSON object" : error.text));
        goto out;
    }
    for (size_t i = 0; i < sizeof(cdm_pg_fields) / sizeof(cdm_pg_fields[0]); i++) {
        json_t *value = json_object_get(saved, cdm_pg_fields[i]);

        if (value)
            json_object_set(cdm, cdm_pg_fields[i], value);
    }

out:
    json_decref(saved);
    buf_free(&path);
    return cdm;
}

json_t *mcp_cdm_describe(const char *dir, const char *name)
{
    struct buf path = BUF_INIT;
    sqlite3 *db = NULL;
    json_t *cdm = NULL;

    buf_printf(&path, "%s/%s.sqlite", dir, name);
    if (access(path.data, F_OK) != 0) {
        buf_free(&path);
        return cdm_describe_pg(dir, name);
    }
    cdm = json_pack("{s:s,s:s}", "name", name, "source", "sqlite");
    if (sqlite3_open_v2(path.data, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        json_object_set_new(cdm, "error", json_string(sqlite3_errmsg(db)));
        goto out;
    }
    json_object_set_new(cdm, "cdm_version", cdm_source_field(db, "cdm_version"));
    json_object_set_new(cdm, "cdm_source_name", cdm_source_field(db, "cdm_source_name"));
    json_object_set_new(cdm, "tables", cdm_tables(db));
    json_object_set_new(cdm, "vocabularies",
                        cdm_column(db, "SELECT vocabulary_id FROM vocabulary ORDER BY 1 "
                                       "LIMIT 500"));

out:
    sqlite3_close(db);
    buf_free(&path);
    return cdm;
}
