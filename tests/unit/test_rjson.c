/* R value -> JSON on trees built by hand: scalars, NA/NaN/Inf, names,
 * factors, dates, times, integer64, matrices, data frames, placeholders,
 * escaping, the byte budget, and the double formatter. */
#include "rserve/rjson.h"
#include "tests/unit/check.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sexp_arena arena;

static struct sexp *strs(int n, const char *const *v)
{
    struct sexp *x = sexp_new(&arena, SEXP_STR, (uint64_t)n);

    for (int i = 0; i < n; i++)
        x->v.str[i] = v[i];
    return x;
}

static struct sexp *str1(const char *s)
{
    return strs(1, &s);
}

static struct sexp *reals(int n, const double *v)
{
    return sexp_new_reals(&arena, v, (size_t)n);
}

static struct sexp *ints(int n, const int32_t *v)
{
    return sexp_new_ints(&arena, v, (size_t)n);
}

static double na_real(void)
{
    uint64_t bits = SEXP_NA_REAL_BITS;
    double d;

    memcpy(&d, &bits, 8);
    return d;
}

/* The JSON of x, checked to parse with jansson. */
static void check_json(const struct sexp *x, const char *want, int line)
{
    struct buf out = BUF_INIT;
    struct rjson_result r = rjson_write(&out, x, 0);
    json_error_t err;
    json_t *parsed = json_loads(out.data, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

    check_count++;
    if (strcmp(out.data, want) != 0 || r.truncated || r.bytes != out.len) {
        check_failures++;
        fprintf(stderr, "line %d: got  %s\n         want %s\n", line, out.data, want);
    }
    CHECK(parsed != NULL);
    json_decref(parsed);
    buf_free(&out);
}

#define JSON_IS(x, want) check_json((x), (want), __LINE__)

static void test_scalars_and_na(void)
{
    static const int32_t iv[3] = {1, SEXP_NA_INTEGER, -7};
    double dv[6] = {0.1, 0, NAN, INFINITY, -INFINITY, 1e300};
    static const char *const sv[3] = {"x", NULL, "q\"\\\n\x01"};
    struct sexp *lgl = sexp_new_raw(&arena, "\x01\x00\x02", 3);

    dv[1] = na_real();
    JSON_IS(sexp_new(&arena, SEXP_NIL, 0), "null");
    JSON_IS(ints(1, iv), "1");
    JSON_IS(ints(3, iv), "[1,null,-7]");
    JSON_IS(reals(6, dv), "[0.1,null,\"NaN\",\"Inf\",\"-Inf\",1e+300]");
    JSON_IS(reals(1, dv + 1), "null");
    /* Whole numbers outside int64's range take the digit path, not a cast. */
    JSON_IS(reals(3, (const double[]){1e19, -9.3e18, 123456789012345.0}),
            "[1e+19,-9.3e+18,123456789012345]");
    JSON_IS(reals(2, (const double[]){-0.0, 1e15}), "[-0,1e+15]");
    JSON_IS(strs(3, sv), "[\"x\",null,\"q\\\"\\\\\\n\\u0001\"]");
    lgl->kind = SEXP_LGL;
    lgl->xt = SEXP_XT_ARRAY_BOOL;
    JSON_IS(lgl, "[true,false,null]");
    JSON_IS(ints(0, iv), "[]");
    JSON_IS(str1("bad \xff utf8 \xc3\xa9"), "\"bad \xef\xbf\xbd utf8 \xc3\xa9\"");
}

static void test_names_and_lists(void)
{
    static const int32_t iv[2] = {3, 4};
    static const char *const names[2] = {"a", "b"};
    struct sexp *named = ints(2, iv);
    struct sexp *list = sexp_new(&arena, SEXP_VEC, 2);
    struct sexp *raw = sexp_new_raw(&arena, "hello", 5);

    sexp_set_attr(&arena, named, "names", strs(2, names));
    JSON_IS(named, "{\"a\":3,\"b\":4}");
    list->v.elts[0] = named;
    list->v.elts[1] = str1("z");
    JSON_IS(list, "[{\"a\":3,\"b\":4},\"z\"]");
    sexp_set_attr(&arena, list, "names", strs(2, names));
    JSON_IS(list, "{\"a\":{\"a\":3,\"b\":4},\"b\":\"z\"}");
    JSON_IS(raw, "\"aGVsbG8=\"");
}

static void test_classes(void)
{
    static const int32_t codes[3] = {2, 1, SEXP_NA_INTEGER};
    static const char *const levels[2] = {"lo", "hi"};
    double days[3] = {19753, -1, 0}, secs[3] = {0, 1700000000.25, 0};
    int64_t big[2] = {9007199254740993ll, INT64_MIN};
    struct sexp *f = ints(3, codes), *d, *t, *i64;

    sexp_set_attr(&arena, f, "levels", strs(2, levels));
    sexp_set_attr(&arena, f, "class", str1("factor"));
    JSON_IS(f, "[\"hi\",\"lo\",null]");

    days[2] = na_real();
    d = reals(3, days);
    sexp_set_attr(&arena, d, "class", str1("Date"));
    JSON_IS(d, "[\"2024-01-31\",\"1969-12-31\",null]");

    secs[2] = -0.5;
    t = reals(3, secs);
    sexp_set_attr(&arena, t, "class", strs(2, (const char *const[]){"POSIXct", "POSIXt"}));
    JSON_IS(t, "[\"1970-01-01T00:00:00Z\",\"2023-11-14T22:13:20.250Z\","
               "\"1969-12-31T23:59:59.500Z\"]");

    i64 = sexp_new_reals(&arena, (const double *)big, 2);
    sexp_set_attr(&arena, i64, "class", str1("integer64"));
    JSON_IS(i64, "[9007199254740993,null]");
}

static void test_matrix(void)
{
    static const int32_t v[6] = {1, 2, 3, 4, 5, 6}, dim[2] = {2, 3};
    struct sexp *m = ints(6, v), *dn = sexp_new(&arena, SEXP_VEC, 2);

    sexp_set_attr(&arena, m, "dim", ints(2, dim));
    JSON_IS(m, "{\"dim\":[2,3],\"values\":[1,2,3,4,5,6]}");
    dn->v.elts[0] = strs(2, (const char *const[]){"r1", "r2"});
    dn->v.elts[1] = sexp_new(&arena, SEXP_NIL, 0);
    sexp_set_attr(&arena, m, "dimnames", dn);
    JSON_IS(m, "{\"dim\":[2,3],\"dimnames\":[[\"r1\",\"r2\"],null],\"values\":[1,2,3,4,5,6]}");
}

static struct sexp *small_df(void)
{
    static const int32_t ids[2] = {1, 2}, rn[2] = {SEXP_NA_INTEGER, -2};
    static const double w[2] = {1.5, 2};
    struct sexp *df = sexp_new(&arena, SEXP_VEC, 3), *f = ints(2, (const int32_t[]){1, 1});

    sexp_set_attr(&arena, f, "levels", str1("m"));
    sexp_set_attr(&arena, f, "class", str1("factor"));
    df->v.elts[0] = ints(2, ids);
    df->v.elts[1] = reals(2, w);
    df->v.elts[2] = f;
    sexp_set_attr(&arena, df, "names", strs(3, (const char *const[]){"id", "w", "sex"}));
    sexp_set_attr(&arena, df, "class", str1("data.frame"));
    sexp_set_attr(&arena, df, "row.names", ints(2, rn));
    return df;
}

static void test_data_frame(void)
{
    JSON_IS(small_df(), "{\"r_type\":\"data.frame\",\"nrow\":2,\"names\":[\"id\",\"w\",\"sex\"],"
                        "\"classes\":[\"integer\",\"numeric\",\"factor\"],"
                        "\"columns\":[[1,2],[1.5,2],[\"m\",\"m\"]]}");
}

static void test_placeholders(void)
{
    struct sexp *clos = sexp_new(&arena, SEXP_CLOS, 2), *s4 = sexp_new(&arena, SEXP_S4, 0);
    struct sexp *env = sexp_new(&arena, SEXP_OTHER, 0);

    clos->v.elts[0] = sexp_new(&arena, SEXP_NIL, 0);
    clos->v.elts[1] = sexp_new(&arena, SEXP_NIL, 0);
    JSON_IS(clos, "{\"r_type\":\"closure\"}");
    sexp_set_attr(&arena, s4, "class", str1("Acc"));
    JSON_IS(s4, "{\"r_type\":\"S4\",\"class\":[\"Acc\"]}");
    env->unknown_type = 4;
    JSON_IS(env, "{\"r_type\":\"unknown\",\"sexptype\":4}");
    JSON_IS(sexp_new_sym(&arena, "x"), "{\"r_type\":\"symbol\",\"name\":\"x\"}");
}

static void test_budget(void)
{
    double *v = malloc(10000 * sizeof(double));
    struct buf out = BUF_INIT;
    struct rjson_result r;
    json_t *parsed;
    char *big = malloc(5001);

    for (int i = 0; i < 10000; i++)
        v[i] = i * 1.25;
    r = rjson_write(&out, reals(10000, v), 1000);
    CHECK(r.truncated);
    CHECK(out.len < 1100);
    parsed = json_loads(out.data, 0, NULL);
    CHECK(parsed && json_is_array(parsed) && json_array_size(parsed) > 50);
    json_decref(parsed);

    buf_reset(&out);
    r = rjson_write(&out, small_df(), 0);
    CHECK(!r.truncated);

    /* A frame of many columns stops inside its list of classes too. */
    {
        struct sexp *wide = sexp_new(&arena, SEXP_VEC, 5000);

        for (int i = 0; i < 5000; i++)
            wide->v.elts[i] = reals(1, v);
        sexp_set_attr(&arena, wide, "class", str1("data.frame"));
        buf_reset(&out);
        r = rjson_write(&out, wide, 500);
        CHECK(r.truncated && out.len < 600);
        parsed = json_loads(out.data, 0, NULL);
        CHECK(parsed && json_is_object(parsed));
        json_decref(parsed);
    }

    memset(big, 'x', 5000);
    big[5000] = '\0';
    buf_reset(&out);
    r = rjson_write(&out, str1(big), 100);
    CHECK(r.truncated && out.len <= 100);
    parsed = json_loads(out.data, JSON_DECODE_ANY, NULL);
    CHECK(parsed && json_is_string(parsed));
    json_decref(parsed);
    buf_free(&out);
    free(v);
    free(big);
}

static int shortest_len(double d)
{
    char tmp[40];

    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*g", p, d);
        if (strtod(tmp, NULL) == d)
            return p;
    }
    return 17;
}

/* Significant digits: leading zeros and the zeros that only place the
 * decimal point of a large whole number ("1500" has two) do not count. */
static int digit_count(const char *s, size_t n)
{
    int digits = 0, zeros = 0, leading = 1;

    for (size_t i = 0; i < n && s[i] != 'e'; i++) {
        if (s[i] < '0' || s[i] > '9')
            continue;
        if (leading && s[i] == '0')
            continue;
        leading = 0;
        digits++;
        zeros = s[i] == '0' ? zeros + 1 : 0;
    }
    return digits - zeros;
}

/* Every output reads back exactly; nearly all are as short as possible. */
static void test_format_double(void)
{
    char out[RJSON_DOUBLE_MAX + 1];
    unsigned long long state = 88172645463325252ull;
    int not_shortest = 0, bad = 0, n = 200000;
    static const double fixed[] = {0.1,
                                   1e21,
                                   1e-7,
                                   123456789012345680.0,
                                   5e-324,
                                   1.7976931348623157e308,
                                   2.2250738585072014e-308,
                                   0.3,
                                   100,
                                   1.5e-5};
    static const char *const fixed_want[] = {"0.1",
                                             "1e+21",
                                             "1e-7",
                                             "1.2345678901234568e+17",
                                             "5e-324",
                                             "1.7976931348623157e+308",
                                             "2.2250738585072014e-308",
                                             "0.3",
                                             "100",
                                             "0.000015"};

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        out[rjson_format_double(out, fixed[i])] = '\0';
        CHECK_STR(out, fixed_want[i]);
    }
    for (int i = 0; i < n; i++) {
        uint64_t bits;
        double d;
        size_t len;

        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bits = state;
        memcpy(&d, &bits, 8);
        if (!isfinite(d))
            continue;
        if (i % 2)
            d = (double)(state % 100000000) / 1000.0; /* decimal-looking values too */
        len = rjson_format_double(out, d);
        out[len] = '\0';
        if (strtod(out, NULL) != d)
            bad++;
        if (digit_count(out, len) > shortest_len(d))
            not_shortest++;
    }
    CHECK_INT(bad, 0);
    CHECK(not_shortest < n / 1000);
    fprintf(stderr, "format_double: %d values, %d not shortest\n", n, not_shortest);
}

int main(void)
{
    sexp_arena_init(&arena);
    RUN(test_scalars_and_na);
    RUN(test_names_and_lists);
    RUN(test_classes);
    RUN(test_matrix);
    RUN(test_data_frame);
    RUN(test_placeholders);
    RUN(test_budget);
    RUN(test_format_double);
    sexp_arena_free(&arena);
    return check_report();
}
