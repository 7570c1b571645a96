/* Fuzzes the value decoder: the input is one XT_ item. What decodes must
 * give valid JSON with and without a byte budget, and encoding it must be
 * stable: decode(encode(x)) encodes to the same bytes again. */
#include "rserve/rjson.h"
#include "rserve/sexp.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_json(const struct sexp *x, size_t budget)
{
    struct buf out = BUF_INIT;
    struct rjson_result r = rjson_write(&out, x, budget);
    json_t *parsed = json_loadb(out.data, out.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    if (!parsed || r.bytes != out.len || (r.truncated && !budget))
        abort();
    json_decref(parsed);
    buf_free(&out);
}

static void check_stable_encoding(const struct sexp *x, const struct sexp_limits *lim)
{
    struct buf once = BUF_INIT, twice = BUF_INIT;
    struct sexp_arena a;
    struct sexp *back;

    sexp_arena_init(&a);
    sexp_encode(&once, x);
    if (sexp_decode((const uint8_t *)once.data, once.len, &a, lim, &back) != QAP_OK)
        abort();
    sexp_encode(&twice, back);
    if (once.len != twice.len || memcmp(once.data, twice.data, once.len) != 0)
        abort();
    buf_free(&once);
    buf_free(&twice);
    sexp_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sexp_limits lim = {.max_depth = 64, .max_arena = 16 << 20};
    struct sexp_arena a;
    struct sexp *x;

    sexp_arena_init(&a);
    if (sexp_decode(data, size, &a, &lim, &x) == QAP_OK) {
        check_json(x, 0);
        check_json(x, size / 2 + 1);
        check_stable_encoding(x, &lim);
    }
    sexp_decode_param(data, size, &a, &lim, &x);
    sexp_arena_free(&a);
    return 0;
}
