/* Unit tests of how CDMs are found and described: <name>.sqlite files and
 * <name>.pg descriptions in CDM_DIR, and the DB_HOST the daemon accepts. */
#include "mcp/cdminfo.h"
#include "pool/cdms.h"
#include "proxy/config.h"
#include "tests/unit/check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/omcp-test-cdms-XXXXXX";

static void put(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int count(char **names)
{
    int n = 0;

    while (names[n])
        n++;
    return n;
}

static void test_scan(void)
{
    char **pg, **names;
    char sub[256];

    put("synthetic.sqlite", "");
    put("both.sqlite", "");
    put("both.pg", "{}");
    put("remote.pg", "{}");
    put("alpha.pg", "{}");
    put(".hidden.pg", "{}");
    put("bad name.pg", "{}");
    put("notes.txt", "");
    snprintf(sub, sizeof(sub), "%s/adir.pg", dir);
    mkdir(sub, 0755);

    names = pool_cdm_scan(dir, true, &pg);
    CHECK_INT(count(names), 4);
    CHECK_STR(names[0], "alpha");
    CHECK_STR(names[1], "both");
    CHECK_STR(names[2], "remote");
    CHECK_STR(names[3], "synthetic");
    CHECK_INT(count(pg), 2);
    CHECK_STR(pg[0], "alpha");
    CHECK_STR(pg[1], "remote");
    CHECK(pool_cdm_listed(pg, "remote") && !pool_cdm_listed(pg, "both"));
    pool_cdm_names_free(names);
    pool_cdm_names_free(pg);

    names = pool_cdm_scan(dir, false, &pg);
    CHECK_INT(count(names), 2);
    CHECK_INT(count(pg), 0);
    pool_cdm_names_free(names);
    pool_cdm_names_free(pg);

    CHECK(pool_cdm_pg_usable(dir));
    CHECK(!pool_cdm_pg_usable(""));
    CHECK(!pool_cdm_pg_usable("/nonexistent/omcp"));
    names = pool_cdm_scan("/nonexistent/omcp", true, &pg);
    CHECK_INT(count(names), 0);
    CHECK_INT(count(pg), 0);
    pool_cdm_names_free(names);
    pool_cdm_names_free(pg);
}

static void test_describe_pg(void)
{
    json_t *cdm;

    put("remote.pg", "{\"database\": \"remote\", \"cdm_version\": \"v5.4\", \"tables\": "
                     "[{\"name\": \"person\", \"rows\": 12}], \"vocabularies\": [\"Gender\"], "
                     "\"password\": \"never shown\"}");
    cdm = mcp_cdm_describe(dir, "remote");
    CHECK_STR(json_string_value(json_object_get(cdm, "name")), "remote");
    CHECK_STR(json_string_value(json_object_get(cdm, "source")), "postgresql");
    CHECK_STR(json_string_value(json_object_get(cdm, "database")), "remote");
    CHECK_STR(json_string_value(json_object_get(cdm, "cdm_version")), "v5.4");
    CHECK_INT(json_integer_value(
                  json_object_get(json_array_get(json_object_get(cdm, "tables"), 0), "rows")),
              12);
    CHECK(json_object_get(cdm, "password") == NULL);
    json_decref(cdm);

    put("alpha.pg", "[not an object");
    cdm = mcp_cdm_describe(dir, "alpha");
    CHECK_STR(json_string_value(json_object_get(cdm, "source")), "postgresql");
    CHECK(json_is_string(json_object_get(cdm, "error")));
    json_decref(cdm);
}

static void test_db_host(void)
{
    struct config cfg;
    struct config_errors errs = {0};

    config_init(&cfg);
    CHECK(config_set(&cfg, "STATE_DIR", "/tmp/omcp-test-state", SRC_CLI, &errs));
    CHECK(config_set(&cfg, "DB_HOST", "db.example.org", SRC_CLI, &errs));
    config_finish(&cfg, &errs);
    CHECK_INT(errs.count, 1);
    CHECK(errs.count == 1 && strstr(errs.lines[0], "DB_HOST") != NULL);
    CHECK_STR(cfg.db_sandbox_user, "omcp_cdm_reader");
    config_free(&cfg);
    config_errors_free(&errs);
}

int main(void)
{
    char command[300];

    if (!mkdtemp(dir))
        return 1;
    RUN(test_scan);
    RUN(test_describe_pg);
    RUN(test_db_host);
    snprintf(command, sizeof(command), "rm -rf -- '%s'", dir);
    if (system(command) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return check_report();
}
