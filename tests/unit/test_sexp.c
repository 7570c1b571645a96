/* SEXP decoding and encoding on hand-built XT_* bytes: every type, the NA
 * encodings, attributes, tagged lists, the large header form, and inputs
 * that are truncated, misaligned or nested too deeply. */
#include "rserve/sexp.h"
#include "tests/unit/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct sexp_arena arena;

/* Appends one item with a 4-byte header. */
static void item(struct buf *b, uint8_t type, const void *body, size_t n)
{
    uint8_t h[4];

    qap_put_u32(h, (uint32_t)type | (uint32_t)n << 8);
    buf_append(b, h, 4);
    buf_append(b, body, n);
}

static void wrap(struct buf *out, uint8_t type, const struct buf *inner)
{
    item(out, type, inner->data, inner->len);
}

static struct sexp *decode_ok(const struct buf *b)
{
    struct sexp *x = NULL;
    enum qap_status st = sexp_decode((const uint8_t *)b->data, b->len, &arena, NULL, &x);

    CHECK_INT(st, QAP_OK);
    return st == QAP_OK ? x : NULL;
}

/* Encoding what was decoded gives the same bytes back. */
static void check_round_trip(const struct buf *b)
{
    struct sexp *x = decode_ok(b);
    struct buf again = BUF_INIT;

    if (!x)
        return;
    sexp_encode(&again, x);
    CHECK_INT(again.len, b->len);
    CHECK(again.len == b->len && memcmp(again.data, b->data, b->len) == 0);
    buf_free(&again);
}

/* Every proper prefix fails cleanly (under ASan: without reading past it). */
static void check_prefixes_fail(const struct buf *b)
{
    for (size_t n = 0; n < b->len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        struct sexp *x;

        memcpy(copy, b->data, n);
        CHECK(sexp_decode(copy, n, &arena, NULL, &x) != QAP_OK);
        free(copy);
    }
}

static void test_null_and_ints(void)
{
    struct buf b = BUF_INIT;
    int32_t v[3] = {7, SEXP_NA_INTEGER, -2};
    struct sexp *x;

    item(&b, SEXP_XT_NULL, NULL, 0);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_NIL);
    buf_reset(&b);

    item(&b, SEXP_XT_ARRAY_INT, v, sizeof(v));
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_INT && x->n == 3);
    if (x) {
        CHECK_INT(sexp_int_at(x, 0), 7);
        CHECK_INT(sexp_int_at(x, 1), SEXP_NA_INTEGER);
        CHECK_INT(sexp_int_at(x, 2), -2);
    }
    check_round_trip(&b);
    check_prefixes_fail(&b);
    buf_free(&b);
}

static void test_doubles_na_vs_nan(void)
{
    struct buf b = BUF_INIT;
    uint64_t na = SEXP_NA_REAL_BITS, na_quiet = SEXP_NA_REAL_BITS | 1ull << 51;
    double v[5] = {1.5, 0, NAN, INFINITY, 0};
    struct sexp *x;

    memcpy(&v[1], &na, 8);
    memcpy(&v[4], &na_quiet, 8);
    item(&b, SEXP_XT_ARRAY_DOUBLE, v, sizeof(v));
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_REAL && x->n == 5);
    if (x) {
        CHECK(sexp_real_at(x, 0) == 1.5);
        CHECK(sexp_real_is_na(sexp_real_at(x, 1)));
        CHECK(isnan(sexp_real_at(x, 2)) && !sexp_real_is_na(sexp_real_at(x, 2)));
        CHECK(isinf(sexp_real_at(x, 3)));
        CHECK(sexp_real_is_na(sexp_real_at(x, 4)));
    }
    check_round_trip(&b);
    buf_reset(&b);
    item(&b, SEXP_XT_ARRAY_DOUBLE, v, 12); /* not a whole number of doubles */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADLEN);
    buf_free(&b);
}

static void test_strings(void)
{
    /* "a", NA, "" , "\xff" + "b" (leading 0xff doubled), then 0x01 padding. */
    static const char body[] = "a\0\xff\0\0\xff\xff"
                               "b\0\x01\x01\x01";
    struct buf b = BUF_INIT;
    struct sexp *x;

    item(&b, SEXP_XT_ARRAY_STR, body, 12);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_STR && x->n == 4);
    if (x && x->n == 4) {
        CHECK_STR(x->v.str[0], "a");
        CHECK(x->v.str[1] == NULL);
        CHECK_STR(x->v.str[2], "");
        CHECK_STR(x->v.str[3], "\xff"
                               "b");
    }
    check_round_trip(&b);
    check_prefixes_fail(&b);

    buf_reset(&b);
    item(&b, SEXP_XT_ARRAY_STR, "ab\0x", 4); /* bytes after the last NUL are not padding */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADSTR);
    buf_reset(&b);
    item(&b, SEXP_XT_ARRAY_STR, NULL, 0); /* character(0) */
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_STR && x->n == 0);
    buf_reset(&b);
    item(&b, SEXP_XT_SYMNAME, "abcd", 4); /* no NUL */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADSTR);
    buf_reset(&b);
    item(&b, SEXP_XT_SYMNAME, "abc\0", 4);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_SYM && strcmp(sexp_sym_name(x), "abc") == 0);
    check_round_trip(&b);
    buf_free(&b);
}

static void test_logical_raw_complex(void)
{
    struct buf b = BUF_INIT;
    struct sexp *x;
    double cplx[4] = {1, 2, -3, 0.5};

    item(&b, SEXP_XT_ARRAY_BOOL, "\x03\0\0\0\x01\x00\x02\xff", 8);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_LGL && x->n == 3);
    if (x)
        CHECK(x->v.bytes[0] == 1 && x->v.bytes[1] == 0 && x->v.bytes[2] == SEXP_NA_LOGICAL);
    check_round_trip(&b);
    buf_reset(&b);
    item(&b, SEXP_XT_ARRAY_BOOL, "\x09\0\0\0\x01\x00\x02\xff", 8); /* count beyond the data */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADLEN);
    buf_reset(&b);
    item(&b, SEXP_XT_ARRAY_BOOL, "\x00\0\0\0\x01\x00\x02\xff", 8); /* padding longer than 3 */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADLEN);

    buf_reset(&b);
    item(&b, SEXP_XT_RAW, "\x05\0\0\0\x01\x02\x03\x04\x05\0\0\0", 12);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_RAW && x->n == 5 && x->v.bytes[4] == 5);
    check_round_trip(&b);

    buf_reset(&b);
    item(&b, SEXP_XT_ARRAY_CPLX, cplx, sizeof(cplx));
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_CPLX && x->n == 2);
    check_round_trip(&b);
    buf_free(&b);
}

/* list(a = 1L, 2L) with names and a class: attributes, tags, nesting. */
static void build_named_list(struct buf *b)
{
    struct buf attr = BUF_INIT, pairs = BUF_INIT, body = BUF_INIT;
    int32_t one = 1, two = 2;

    item(&pairs, SEXP_XT_ARRAY_STR, "a\0\0\x01", 4);
    item(&pairs, SEXP_XT_SYMNAME, "names\0\0\0", 8);
    item(&pairs, SEXP_XT_ARRAY_STR, "foo\0", 4);
    item(&pairs, SEXP_XT_SYMNAME, "class\0\0\0", 8);
    wrap(&attr, SEXP_XT_LIST_TAG, &pairs);
    buf_append(&body, attr.data, attr.len);
    item(&body, SEXP_XT_ARRAY_INT, &one, 4);
    item(&body, SEXP_XT_ARRAY_INT, &two, 4);
    wrap(b, SEXP_XT_VECTOR | SEXP_XT_HAS_ATTR, &body);
    buf_free(&attr);
    buf_free(&pairs);
    buf_free(&body);
}

static void test_attributes_and_tags(void)
{
    struct buf b = BUF_INIT;
    struct sexp *x;
    const struct sexp *names;

    build_named_list(&b);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_VEC && x->n == 2);
    if (!x)
        goto out;
    names = sexp_attr(x, "names");
    CHECK(names && names->kind == SEXP_STR && names->n == 2);
    CHECK(sexp_inherits(x, "foo"));
    CHECK(!sexp_inherits(x, "bar"));
    CHECK(sexp_attr(x, "dim") == NULL);
    CHECK(x->attr->tags && sexp_sym_name(x->attr->tags[0]) && x->attr->n == 2);
    CHECK_INT(sexp_int_at(x->v.elts[1], 0), 2);
    check_round_trip(&b);
    check_prefixes_fail(&b);
out:
    buf_free(&b);
}

static void test_closure_s4_unknown_lang(void)
{
    struct buf b = BUF_INIT, body = BUF_INIT, attr = BUF_INIT, pairs = BUF_INIT;
    struct sexp *x;
    int32_t envsxp = 4;

    /* function(x) x: formals is a tagged pairlist, body a symbol. */
    item(&pairs, SEXP_XT_SYMNAME, "\0\0\0\0", 4);
    item(&pairs, SEXP_XT_SYMNAME, "x\0\0\0", 4);
    wrap(&body, SEXP_XT_LIST_TAG, &pairs);
    item(&body, SEXP_XT_SYMNAME, "x\0\0\0", 4);
    wrap(&b, SEXP_XT_CLOS, &body);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_CLOS && x->n == 2 && x->v.elts[0]->kind == SEXP_LIST);
    check_round_trip(&b);

    buf_reset(&b);
    buf_reset(&pairs);
    item(&pairs, SEXP_XT_ARRAY_STR, "Acc\0", 4);
    item(&pairs, SEXP_XT_SYMNAME, "class\0\0\0", 8);
    wrap(&attr, SEXP_XT_LIST_TAG, &pairs);
    wrap(&b, SEXP_XT_S4 | SEXP_XT_HAS_ATTR, &attr);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_S4 && sexp_inherits(x, "Acc"));
    check_round_trip(&b);

    buf_reset(&b);
    item(&b, SEXP_XT_UNKNOWN, &envsxp, 4);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_OTHER && x->unknown_type == 4);
    check_round_trip(&b);

    buf_reset(&b);
    buf_reset(&body);
    item(&body, SEXP_XT_SYMNAME, "f\0\0\0", 4);
    item(&body, SEXP_XT_ARRAY_INT, &envsxp, 4);
    wrap(&b, SEXP_XT_LANG_NOTAG, &body);
    x = decode_ok(&b);
    CHECK(x && x->kind == SEXP_LANG && x->n == 2 && !x->tags);
    check_round_trip(&b);

    buf_reset(&b);
    item(&b, SEXP_XT_CLOS, body.data, 8); /* a closure with one part */
    CHECK(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x) != QAP_OK);
    buf_free(&b);
    buf_free(&body);
    buf_free(&attr);
    buf_free(&pairs);
}

static void test_bad_headers(void)
{
    struct buf b = BUF_INIT;
    struct sexp *x;

    item(&b, SEXP_XT_ARRAY_INT, "\1\0\0\0\2\0", 6); /* misaligned */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADLEN);
    buf_reset(&b);
    item(&b, 60, "\0\0\0\0", 4); /* no such XT_ type */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADTYPE);
    buf_reset(&b);
    item(&b, SEXP_XT_ARRAY_BOOL_UA, "\0\0\0\0", 4); /* retired by Rserve */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADTYPE);
    buf_reset(&b);
    /* 99 carries the LARGE bit: its 8-byte header then claims 4 bytes it lacks. */
    item(&b, 99, "\0\0\0\0", 4);
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_ETRUNC);
    buf_reset(&b);
    item(&b, SEXP_XT_LIST_TAG, "\0\0\0\0", 4); /* a value without its tag */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADLEN);
    buf_reset(&b);
    item(&b, SEXP_XT_NULL, NULL, 0);
    buf_append(&b, "\0\0\0\0", 4); /* trailing bytes */
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADLEN);
    buf_reset(&b);
    /* A child that claims more than its parent holds. */
    item(&b, SEXP_XT_VECTOR, "\x20\x10\0\0\0\0\0\0", 8);
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_ETRUNC);
    buf_free(&b);
}

static void test_depth_limit(void)
{
    struct buf b = BUF_INIT, next = BUF_INIT;
    struct sexp_limits lim = {.max_depth = 50};
    struct sexp *x;

    item(&b, SEXP_XT_NULL, NULL, 0);
    for (int i = 0; i < 60; i++) {
        buf_reset(&next);
        wrap(&next, SEXP_XT_VECTOR, &b);
        buf_reset(&b);
        buf_append(&b, next.data, next.len);
    }
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, &lim, &x), QAP_EDEPTH);
    lim.max_depth = 100;
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &arena, &lim, &x), QAP_OK);
    buf_free(&b);
    buf_free(&next);
}

/* A list of many small items costs far more as a tree than on the wire;
 * the arena budget refuses it before the memory is taken. */
static void test_arena_limit(void)
{
    struct buf b = BUF_INIT, body = BUF_INIT;
    struct sexp_limits lim = {.max_arena = 256 * 1024};
    struct sexp_arena a;
    struct sexp *x = NULL;

    for (int i = 0; i < 20000; i++)
        item(&body, SEXP_XT_NULL, NULL, 0);
    wrap(&b, SEXP_XT_VECTOR, &body);
    sexp_arena_init(&a);
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &a, &lim, &x), QAP_ETOOBIG);
    CHECK(a.total <= lim.max_arena + 64 * 1024); /* to within one arena chunk */
    sexp_arena_free(&a);
    lim.max_arena = 4 << 20;
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &a, &lim, &x), QAP_OK);
    CHECK(x && x->n == 20000);
    sexp_arena_free(&a);
    buf_free(&b);
    buf_free(&body);
}

static void test_large_form(void)
{
    size_t n = (QAP_SMALL_MAX / 8) + 16; /* just above 16 MB of doubles */
    double *v = calloc(n, sizeof(double));
    struct sexp_arena a;
    struct buf b = BUF_INIT;
    struct sexp *x, *back = NULL;

    sexp_arena_init(&a);
    v[n - 1] = 42.0;
    x = sexp_new_reals(&a, v, n);
    sexp_encode_param(&b, x);
    CHECK_INT((uint8_t)b.data[0], QAP_DT_SEXP | QAP_DT_LARGE);
    CHECK_INT((uint8_t)b.data[8], SEXP_XT_ARRAY_DOUBLE | SEXP_XT_LARGE);
    CHECK_INT(b.len, 16 + n * 8);
    CHECK_INT(sexp_decode_param((uint8_t *)b.data, b.len, &a, NULL, &back), QAP_OK);
    CHECK(back && back->n == n && sexp_real_at(back, n - 1) == 42.0);
    /* A truncated large item is refused. */
    CHECK(sexp_decode_param((uint8_t *)b.data, b.len - 8, &a, NULL, &back) != QAP_OK);
    buf_free(&b);
    sexp_arena_free(&a);
    free(v);
}

static void test_param(void)
{
    struct buf b = BUF_INIT, inner = BUF_INIT;
    struct sexp *x;

    CHECK_INT(sexp_decode_param(NULL, 0, &arena, NULL, &x), QAP_OK);
    CHECK(x->kind == SEXP_NIL);
    item(&inner, SEXP_XT_ARRAY_INT, "\1\0\0\0", 4);
    wrap(&b, QAP_DT_SEXP, &inner);
    CHECK_INT(sexp_decode_param((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_OK);
    buf_reset(&b);
    wrap(&b, QAP_DT_STRING, &inner);
    CHECK_INT(sexp_decode_param((uint8_t *)b.data, b.len, &arena, NULL, &x), QAP_EBADTYPE);
    buf_reset(&b);
    qap_put_string_param(&b, "1+1");
    CHECK_INT(b.len, 8);
    CHECK(memcmp(b.data,
                 "\x04\x04\0\0"
                 "1+1\0",
                 8) == 0);
    buf_reset(&b);
    qap_put_string_param(&b, "abcd");
    CHECK_INT(b.len, 12);
    buf_free(&b);
    buf_free(&inner);
}

static void test_builders(void)
{
    struct sexp_arena a;
    struct buf b = BUF_INIT;
    struct sexp *x, *back = NULL;
    int32_t dims[2] = {2, 1};
    double v[2] = {1, 2};

    sexp_arena_init(&a);
    x = sexp_new_reals(&a, v, 2);
    sexp_set_attr(&a, x, "dim", sexp_new_ints(&a, dims, 2));
    sexp_set_attr(&a, x, "dim", sexp_new_ints(&a, dims, 2));
    CHECK(x->attr && x->attr->n == 1);
    sexp_set_attr(&a, x, "comment", sexp_new_str1(&a, NULL));
    sexp_encode(&b, x);
    CHECK_INT(sexp_decode((uint8_t *)b.data, b.len, &a, NULL, &back), QAP_OK);
    CHECK(back && back->n == 2 && sexp_attr(back, "dim") && sexp_attr(back, "comment"));
    if (back && sexp_attr(back, "comment"))
        CHECK(sexp_attr(back, "comment")->v.str[0] == NULL);
    buf_free(&b);
    sexp_arena_free(&a);
}

int main(void)
{
    sexp_arena_init(&arena);
    RUN(test_null_and_ints);
    RUN(test_doubles_na_vs_nan);
    RUN(test_strings);
    RUN(test_logical_raw_complex);
    RUN(test_attributes_and_tags);
    RUN(test_closure_s4_unknown_lang);
    RUN(test_bad_headers);
    RUN(test_depth_limit);
    RUN(test_arena_limit);
    RUN(test_large_form);
    RUN(test_param);
    RUN(test_builders);
    sexp_arena_free(&arena);
    return check_report();
}
