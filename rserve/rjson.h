/* R values (decoded SEXP trees) as JSON for agents; the mapping is
 * documented in docs/values.md. Written straight into a struct buf. */
#ifndef OMCP_RJSON_H
#define OMCP_RJSON_H

#include "proxy/buf.h"
#include "rserve/sexp.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest text rjson_format_double writes ("-1.2345678901234567e-308"). */
#define RJSON_DOUBLE_MAX 32

/* Writes the shortest decimal that reads back as d (finite d only); returns
 * its length. Not NUL-terminated. */
size_t rjson_format_double(char out[RJSON_DOUBLE_MAX], double d);

struct rjson_result {
    bool truncated; /* the byte budget cut the output; it is still valid JSON */
    size_t bytes;   /* bytes appended */
};

/* Appends x as JSON. max_bytes bounds what is appended (0: no bound): once
 * it is passed no further element is written, open arrays and objects are
 * closed, and the result says so. The output may pass the bound by the one
 * element being written when it ran out (a string is cut to fit, a number
 * is at most RJSON_DOUBLE_MAX bytes) and by the closing brackets. */
struct rjson_result rjson_write(struct buf *out, const struct sexp *x, size_t max_bytes);

/* Appends s as a JSON string (quoted, escaped; invalid UTF-8 replaced). */
void rjson_put_string(struct buf *out, const char *s);

#endif
