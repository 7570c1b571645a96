/* The file tools' host side on a real directory: hostile paths and links
 * planted in the workspace are refused and nothing outside it is read or
 * changed; binary round trips keep every byte; size limits hold. Also the R
 * literals and SQL checks the session backend builds from arguments. */
#include "check.h"
#include "mcp/path.h"
#include "mcp/rcode.h"
#include "mcp/workspace.h"
#include "mcp/wsarchive.h"

#include <archive.h>
#include <archive_entry.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/omcp-ws-test-XXXXXX";
static char outside[sizeof(root) + 16];

static void put(const char *rel, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

/* A workspace with a file, a directory and the links a sandbox could plant
 * pointing at a file outside it. */
static void setup(void)
{
    char path[256];

    if (!mkdtemp(root))
        abort();
    snprintf(outside, sizeof(outside), "%s.outside", root);
    put("file.txt", "inside");
    snprintf(path, sizeof(path), "%s/dir", root);
    mkdir(path, 0755);
    put("dir/nested.txt", "nested");
    FILE *f = fopen(outside, "w");
    fputs("secret", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/to-outside", root);
    symlink(outside, path);
    snprintf(path, sizeof(path), "%s/dir/up", root);
    symlink("../..", path);
    snprintf(path, sizeof(path), "%s/rootlink", root);
    symlink("/", path);
    snprintf(path, sizeof(path), "%s/proc-root", root);
    symlink("/proc/self/root", path);
    snprintf(path, sizeof(path), "%s/dirlink", root);
    symlink("dir", path);
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", root);
}

static bool outside_intact(void)
{
    char text[16] = {0};
    FILE *f = fopen(outside, "r");
    bool ok = f && fread(text, 1, sizeof(text) - 1, f) == 6 && strcmp(text, "secret") == 0;

    if (f)
        fclose(f);
    return ok;
}

/* Every path goes through what the tools do: lexical resolution under
 * /sandbox first, then the workspace. */
static const char *attempt(const char *raw, bool write)
{
    static struct mcp_ws_error err;
    char rel[MCP_PATH_MAX];
    unsigned char *bytes;
    size_t len;

    if (!mcp_path_resolve(raw, strlen(raw), rel, sizeof(rel)))
        return "invalid_path";
    if (write)
        return mcp_ws_write(root, rel, "pwned", 5, getuid(), &err) ? NULL : err.code;
    bytes = mcp_ws_read(root, rel, 1 << 20, &len, &err);
    free(bytes);
    return bytes ? NULL : err.code;
}

static void test_hostile_paths(void)
{
    static const char *const hostile[] = {
        "../etc/passwd",
        "/etc/passwd",
        "/sandbox/../etc/passwd",
        "a/../../etc/passwd",
        "..",
        "/",
        "/sandboxx/file.txt",
        "to-outside",
        "/sandbox/to-outside",
        "dir/up/etc/passwd",
        "dir/up",
        "rootlink/etc/passwd",
        "proc-root/etc/passwd",
        "dirlink/nested.txt",
        "./dirlink/../to-outside",
        "/proc/self/root/etc/passwd",
        "../../../../../../etc/shadow",
        "/sandbox/dir/../../root",
    };

    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        const char *read = attempt(hostile[i], false), *write = attempt(hostile[i], true);

        if (!read || !write)
            fprintf(stderr, "  let through: %s (read %s, write %s)\n", hostile[i],
                    read ? read : "ok", write ? write : "ok");
        CHECK(read && (strcmp(read, "invalid_path") == 0 || strcmp(read, "not_a_file") == 0));
        CHECK(write && (strcmp(write, "invalid_path") == 0 || strcmp(write, "not_a_file") == 0));
    }
    CHECK(outside_intact());
    CHECK(attempt("dir/nested.txt", false) == NULL);
    CHECK(attempt("/sandbox/file.txt", false) == NULL);
}

static void test_list(void)
{
    struct mcp_ws_error err;
    json_t *files = mcp_ws_list(root, ".", &err), *entry;
    size_t i, links = 0;

    CHECK(json_is_array(files));
    json_array_foreach(files, i, entry)
    {
        const char *name = json_string_value(json_object_get(entry, "name"));

        CHECK(strncmp(json_string_value(json_object_get(entry, "path")), "/sandbox/", 9) == 0);
        /* A link is listed as what it is, never as the directory it names. */
        if (strcmp(name, "rootlink") == 0 || strcmp(name, "dirlink") == 0) {
            links++;
            CHECK(json_is_false(json_object_get(entry, "is_dir")));
        }
    }
    CHECK_INT(links, 2);
    json_decref(files);
    CHECK(mcp_ws_list(root, "rootlink", &err) == NULL);
    CHECK_STR(err.code, "invalid_path");
    CHECK(mcp_ws_list(root, "file.txt", &err) == NULL);
    CHECK_STR(err.code, "not_a_directory");
}

static void test_round_trip(void)
{
    static const size_t sizes[] = {0, 1, 4096, 1 << 20};
    struct mcp_ws_error err;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *bytes = malloc(sizes[i] + 1), *back;
        size_t len;

        for (size_t j = 0; j < sizes[i]; j++)
            bytes[j] = (unsigned char)(j * 131 + i);
        CHECK(mcp_ws_write(root, "bin/blob", bytes, sizes[i], getuid(), &err));
        back = mcp_ws_read(root, "bin/blob", 1 << 20, &len, &err);
        CHECK(back && len == sizes[i] && memcmp(back, bytes, len) == 0);
        free(back);
        free(bytes);
    }
    CHECK(mcp_ws_read(root, "bin/blob", (1 << 20) - 1, &(size_t){0}, &err) == NULL);
    CHECK_STR(err.code, "file_too_large");
    CHECK(mcp_ws_read(root, "bin/none", 10, &(size_t){0}, &err) == NULL);
    CHECK_STR(err.code, "file_not_found");
    CHECK(!mcp_ws_write(root, "dir", "x", 1, getuid(), &err));
    CHECK_STR(err.code, "not_a_file");
}

static void test_checksum(void)
{
    char sum[17];

    mcp_ws_checksum("hello", 5, sum);
    CHECK_STR(sum, "9555e8555c62dcfd"); /* xxhsum -H3 of the same five bytes */
}

static void test_rcode_string(void)
{
    struct buf out = BUF_INIT;

    mcp_rcode_string(&out, "a\"); system(\"id\"); (\"\\\n\t\x01\x7f\xc3\xa9");
    CHECK_STR(out.data, "\"a\\\"); system(\\\"id\\\"); (\\\"\\\\\\n\\t\\x01\\x7f\xc3\xa9\"");
    buf_free(&out);
}

static void test_rcode_params(void)
{
    struct buf out = BUF_INIT;
    json_t *good =
        json_loads("{\"pid\":3,\"x\":1.5,\"s\":\"o'k\\\"\",\"b\":true,\"n\":null}", 0, NULL);
    json_t *bad_name = json_loads("{\"a b\":1}", 0, NULL);
    json_t *bad_value = json_loads("{\"a\":[1]}", 0, NULL);

    CHECK(mcp_rcode_params(&out, good));
    CHECK_STR(out.data, "list(pid = 3, x = 1.5, s = \"o'k\\\"\", b = TRUE, n = NA)");
    out.len = 0;
    CHECK(!mcp_rcode_params(&out, bad_name));
    out.len = 0;
    CHECK(!mcp_rcode_params(&out, bad_value));
    json_decref(good);
    json_decref(bad_name);
    json_decref(bad_value);
    buf_free(&out);
}

static void test_sql_keyword(void)
{
    static const char *const cases[][2] = {
        {"select 1", "SELECT"},
        {"  /* note */ With x AS (SELECT 1) SELECT * FROM x", "WITH"},
        {"-- comment\n(select 1)", "SELECT"},
        {"delete from person", "DELETE"},
        {"/* unterminated", ""},
        {"", ""},
        {"PRAGMA query_only = 0", "PRAGMA"},
        {"attach database 'x' as y", "ATTACH"},
    };
    char keyword[16];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mcp_sql_first_keyword(cases[i][0], keyword, sizeof(keyword));
        CHECK_STR(keyword, cases[i][1]);
    }
    CHECK(mcp_sql_reads_only("SELECT") && mcp_sql_reads_only("WITH"));
    CHECK(!mcp_sql_reads_only("DELETE") && !mcp_sql_reads_only("PRAGMA"));
    CHECK(!mcp_sql_reads_only("ATTACH") && !mcp_sql_reads_only(""));
}

/* A tar archive in memory with one member of the given type and name. */
static size_t make_tar(unsigned char *out, size_t size, const char *name, mode_t type,
                       const char *link, size_t data_len, bool gzip)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    static char zeros[1 << 16];
    size_t used = 0;

    archive_write_set_format_pax_restricted(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    archive_write_open_memory(a, out, size, &used);
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)data_len : 0);
    if (link && type == AE_IFLNK)
        archive_entry_set_symlink(e, link);
    else if (link)
        archive_entry_set_hardlink(e, link);
    archive_write_header(a, e);
    for (size_t left = data_len; type == AE_IFREG && left > 0;) {
        size_t n = left < sizeof(zeros) ? left : sizeof(zeros);

        archive_write_data(a, zeros, n);
        left -= n;
    }
    archive_write_close(a);
    archive_write_free(a);
    archive_entry_free(e);
    return used;
}

static void test_archive_round_trip(void)
{
    struct mcp_ws_archive_stats st;
    struct mcp_ws_error err;
    unsigned char *tar, *back;
    size_t len;

    tar = mcp_ws_export(root, ".", 4 << 20, &st, &err);
    CHECK(tar != NULL);
    if (!tar)
        return;
    CHECK(st.files >= 3);   /* file.txt, dir/nested.txt, bin/blob */
    CHECK(st.skipped >= 5); /* the links, left out and never followed */
    CHECK(mcp_ws_import(root, "copy", tar, st.archive_len, 4 << 20, 8 << 20, getuid(), &st, &err));
    back = mcp_ws_read(root, "copy/dir/nested.txt", 100, &len, &err);
    CHECK(back && len == 6 && memcmp(back, "nested", 6) == 0);
    free(back);
    CHECK(mcp_ws_read(root, "copy/to-outside", 100, &len, &err) == NULL);
    free(tar);
    CHECK(mcp_ws_export(root, ".", 1024, &st, &err) == NULL);
    CHECK_STR(err.code, "file_too_large");
}

static void test_archive_hostile(void)
{
    static const struct {
        const char *name;
        mode_t type;
        const char *link;
        size_t len;
        bool gzip;
        const char *code;
    } cases[] = {
        {"../escape.txt", AE_IFREG, NULL, 4, false, "invalid_path"},
        {"/etc/cron.d/x", AE_IFREG, NULL, 4, false, "invalid_path"},
        {"a/../../escape.txt", AE_IFREG, NULL, 4, false, "invalid_path"},
        {"link", AE_IFLNK, "/etc/passwd", 0, false, "invalid_archive"},
        {"hard", AE_IFREG, "file.txt", 0, false, "invalid_archive"},
        {"fifo", AE_IFIFO, NULL, 0, false, "invalid_archive"},
        {"dev", AE_IFCHR, NULL, 0, false, "invalid_archive"},
        {"bomb.bin", AE_IFREG, NULL, 3 << 20, true, "file_too_large"},
    };
    static unsigned char tar[1 << 20];
    struct mcp_ws_archive_stats st;
    struct mcp_ws_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = make_tar(tar, sizeof(tar), cases[i].name, cases[i].type, cases[i].link,
                              cases[i].len, cases[i].gzip);

        CHECK(len > 0);
        CHECK(!mcp_ws_import(root, ".", tar, len, 1 << 20, 2 << 20, getuid(), &st, &err));
        CHECK_STR(err.code, cases[i].code);
    }
    CHECK(access("/tmp/escape.txt", F_OK) != 0);
    CHECK(!mcp_ws_import(root, ".", "not a tar archive at all", 24, 100, 100, getuid(), &st, &err));
    CHECK_STR(err.code, "invalid_archive");
    CHECK(outside_intact());
}

int main(void)
{
    setup();
    RUN(test_hostile_paths);
    RUN(test_list);
    RUN(test_round_trip);
    RUN(test_checksum);
    RUN(test_archive_round_trip);
    RUN(test_archive_hostile);
    RUN(test_rcode_string);
    RUN(test_rcode_params);
    RUN(test_sql_keyword);
    teardown();
    return check_report();
}
