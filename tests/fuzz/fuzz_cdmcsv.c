/* Fuzzes the CDM loader's CSV reader: arbitrary bytes as a CSV member, read
 * once whole and once in chunks whose sizes the input's first byte picks.
 * Both readings must agree on every record and on the verdict. */
#include "bench/cdmcsv.h"

#include "proxy/buf.h"
#include "proxy/mem.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len);

/* Every record flattened: field lengths and bytes, so any difference shows. */
static bool fuzz_collect(void *ctx, const struct cdmcsv_record *record)
{
    struct buf *out = ctx;

    buf_printf(out, "%zu:%zu:", record->line, record->nfields);
    for (size_t i = 0; i < record->nfields; i++) {
        size_t n = strlen(record->fields[i]);

        buf_printf(out, "%zu=", n);
        buf_append(out, record->fields[i], n);
    }
    buf_putc(out, ';');
    return out->len < (1u << 20);
}

static bool fuzz_parse(const char *input, size_t len, size_t chunk, struct buf *out)
{
    struct cdmcsv csv;
    bool ok = true;

    cdmcsv_init(&csv, 4096, 64);
    for (size_t at = 0; ok && at < len; at += chunk) {
        size_t n = len - at > chunk ? chunk : len - at;

        ok = cdmcsv_feed(&csv, input + at, n, fuzz_collect, out);
    }
    ok = ok && cdmcsv_finish(&csv, fuzz_collect, out);
    cdmcsv_free(&csv);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len)
{
    struct buf whole = BUF_INIT, pieces = BUF_INIT;
    size_t chunk;
    bool ok_whole, ok_pieces;

    if (len == 0)
        return 0;
    chunk = (size_t)(bytes[0] % 16) + 1;
    ok_whole = fuzz_parse((const char *)bytes + 1, len - 1, len, &whole);
    ok_pieces = fuzz_parse((const char *)bytes + 1, len - 1, chunk, &pieces);
    if (ok_whole != ok_pieces || whole.len != pieces.len ||
        (whole.len && memcmp(whole.data, pieces.data, whole.len) != 0))
        panic("chunked reading differs from whole reading (chunk %zu)", chunk);
    buf_free(&whole);
    buf_free(&pieces);
    return 0;
}
