/* Unit tests of the CDM loader's CSV reader: quoting, line ends, the byte
 * order mark, limits, refusals, and the same records whatever the chunking. */
#include "bench/cdmcsv.h"
#include "tests/unit/check.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Records as one string: fields joined by '|', records ended by ';', each
 * prefixed by its line number and ':'. */
struct collected {
    char text[4096];
    size_t records;
    size_t stop_after; /* 0: never stop */
};

static bool collect(void *ctx, const struct cdmcsv_record *record)
{
    struct collected *out = ctx;
    size_t len = strlen(out->text);

    len += (size_t)snprintf(out->text + len, sizeof(out->text) - len, "%zu:", record->line);
    for (size_t i = 0; i < record->nfields; i++)
        len += (size_t)snprintf(out->text + len, sizeof(out->text) - len, "%s%s", i ? "|" : "",
                                record->fields[i]);
    snprintf(out->text + len, sizeof(out->text) - len, ";");
    out->records++;
    return out->stop_after == 0 || out->records < out->stop_after;
}

/* Parses input in chunks of chunk bytes (0: all at once); returns whether the
 * reader accepted it, with the records in out and the error in error. */
static bool parse(const char *input, size_t len, size_t chunk, struct collected *out,
                  char error[160])
{
    struct cdmcsv csv;
    bool ok = true;

    memset(out->text, 0, sizeof(out->text));
    out->records = 0;
    cdmcsv_init(&csv, 256, 8);
    for (size_t at = 0; ok && at < len; at += chunk ? chunk : len) {
        size_t n = chunk && len - at > chunk ? chunk : len - at;

        ok = cdmcsv_feed(&csv, input + at, n, collect, out);
    }
    ok = ok && cdmcsv_finish(&csv, collect, out);
    strcpy(error, csv.error);
    cdmcsv_free(&csv);
    return ok;
}

/* Checks input gives want in every chunking from one byte to all at once. */
static void expect_records(const char *input, const char *want)
{
    static const size_t chunks[] = {0, 1, 2, 3, 7};
    struct collected out = {.stop_after = 0};
    char error[160];

    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        bool ok = parse(input, strlen(input), chunks[i], &out, error);

        CHECK(ok);
        CHECK_STR(out.text, want);
        if (!ok || strcmp(out.text, want) != 0)
            fprintf(stderr, "  input \"%s\" chunk %zu error \"%s\"\n", input, chunks[i], error);
    }
}

/* Checks input is refused, in every chunking, with an error naming reason. */
static void expect_refusal(const char *input, size_t len, const char *reason)
{
    static const size_t chunks[] = {0, 1, 5};
    struct collected out = {.stop_after = 0};
    char error[160];

    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        CHECK(!parse(input, len, chunks[i], &out, error));
        CHECK(strstr(error, reason) != NULL);
        if (!strstr(error, reason))
            fprintf(stderr, "  error \"%s\", want \"%s\"\n", error, reason);
    }
}

static void test_plain(void)
{
    expect_records("a,b,c\n1,2,3\n", "1:a|b|c;2:1|2|3;");
    expect_records("a,b\r\n1,2\r\n", "1:a|b;2:1|2;");
    expect_records("a,b\n1,2", "1:a|b;2:1|2;");
    expect_records("a,b\r\n1,2\r", "1:a|b;2:1|2;");
    expect_records("", "");
    expect_records("x", "1:x;");
}

static void test_empty_fields(void)
{
    expect_records(",\n", "1:|;");
    expect_records("a,,c\n", "1:a||c;");
    expect_records("a,b,\n", "1:a|b|;");
    expect_records("\"\",x\n", "1:|x;");
    expect_records("a\n\n\nb\n", "1:a;4:b;");
}

static void test_quoted(void)
{
    expect_records("\"a,b\",c\n", "1:a,b|c;");
    expect_records("\"say \"\"hi\"\"\"\n", "1:say \"hi\";");
    expect_records("\"two\nlines\",x\ny\n", "1:two\nlines|x;3:y;");
    expect_records("\"cr\r\nlf\"\r\nz\r\n", "1:cr\r\nlf;3:z;");
    expect_records("\"\"\"\"\n", "1:\";");
    expect_records("\"end\"", "1:end;");
}

static void test_bom(void)
{
    expect_records("\xef\xbb\xbf"
                   "a,b\n",
                   "1:a|b;");
    expect_records("\xef\xbb"
                   "x\n",
                   "1:\xef\xbbx;");
    expect_records("\xef", "1:\xef;");
    expect_records("a\xef\xbb\xbf\n", "1:a\xef\xbb\xbf;");
}

static void test_refusals(void)
{
    expect_refusal("\"open", 5, "not closed");
    expect_refusal("\"a\"b\n", 5, "after a closing quote");
    expect_refusal("ab\"c\n", 5, "quote inside an unquoted field");
    expect_refusal("a\0b\n", 4, "NUL byte");
    expect_refusal("a\rb\n", 4, "CR not followed by LF");
    expect_refusal("1,2,3,4,5,6,7,8,9\n", 18, "more than 8 fields");
    expect_refusal("x\ny\n\"a\"b", 9, "line 3");
}

static void test_limits(void)
{
    char input[600];
    struct collected out = {.stop_after = 0};
    char error[160];

    memset(input, 'x', sizeof(input));
    CHECK(!parse(input, sizeof(input), 0, &out, error));
    CHECK(strstr(error, "longer than 256 bytes") != NULL);

    /* 8 fields of 30 bytes each fit the 256-byte record with their NULs. */
    memset(input, 'y', 8 * 31);
    for (int i = 1; i <= 8; i++)
        input[i * 31 - 1] = i < 8 ? ',' : '\n';
    CHECK(parse(input, 8 * 31, 1, &out, error));
    CHECK_INT(out.records, 1);
}

static void test_stop(void)
{
    struct collected out = {.stop_after = 2};
    char error[160];
    struct cdmcsv csv;

    CHECK(!parse("a\nb\nc\nd\n", 8, 0, &out, error));
    CHECK_INT(out.records, 2);
    CHECK(strstr(error, "stopped by the reader") != NULL);

    cdmcsv_init(&csv, 64, 4);
    memset(out.text, 0, sizeof(out.text));
    out.records = 0;
    CHECK(!cdmcsv_feed(&csv, "a\nb\nc\n", 6, collect, &out));
    CHECK(csv.stopped);
    CHECK(!cdmcsv_feed(&csv, "d\n", 2, collect, &out));
    CHECK(!cdmcsv_finish(&csv, collect, &out));
    CHECK_INT(out.records, 2);
    cdmcsv_free(&csv);
}

int main(void)
{
    RUN(test_plain);
    RUN(test_empty_fields);
    RUN(test_quoted);
    RUN(test_bom);
    RUN(test_refusals);
    RUN(test_limits);
    RUN(test_stop);
    return check_report();
}
