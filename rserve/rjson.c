/* R value -> JSON: vectors, names, factors, dates, times, integer64,
 * matrices and data frames, with a byte budget. Never fails: what has no
 * JSON form becomes a small typed placeholder. */
#include "rserve/rjson.h"

#include "proxy/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

struct writer {
    struct buf *out;
    size_t limit; /* absolute length of out past which writing stops; 0: none */
    bool over;
};

/* How the elements of an atomic vector are shown, decided by its class. */
enum elt_style {
    STYLE_PLAIN,
    STYLE_FACTOR,
    STYLE_DATE,
    STYLE_POSIXCT,
    STYLE_INT64,
};

struct atoms {
    const struct sexp *x;
    enum elt_style style;
    const struct sexp *levels; /* factors */
};

static void write_value(struct writer *w, const struct sexp *x);

static void check_budget(struct writer *w)
{
    if (w->limit && w->out->len > w->limit)
        w->over = true;
}

static void put_lit(struct writer *w, const char *s, size_t n)
{
    buf_append(w->out, s, n);
}

#define PUT(w, lit) put_lit((w), (lit), sizeof(lit) - 1)

/* ---- strings ---- */

static void put_escape(struct buf *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

    switch (c) {
    case '"':
        buf_append(out, "\\\"", 2);
        return;
    case '\\':
        buf_append(out, "\\\\", 2);
        return;
    case '\n':
        buf_append(out, "\\n", 2);
        return;
    case '\t':
        buf_append(out, "\\t", 2);
        return;
    case '\r':
        buf_append(out, "\\r", 2);
        return;
    default:
        buf_append(out, esc, 6);
    }
}

static void put_string_n(struct buf *out, const unsigned char *s, size_t n)
{
    size_t i = 0, run;

    buf_putc(out, '"');
    while (i < n) {
        for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\';
             run++)
            ;
        buf_append(out, s + i, run - i);
        i = run;
        if (i >= n)
            break;
        if (s[i] < 0x80) {
            put_escape(out, s[i++]);
            continue;
        }
        run = utf8_seq_len(s + i, n - i);
        if (run) {
            buf_append(out, s + i, run);
            i += run;
        } else {
            buf_append(out, "\xef\xbf\xbd", 3); /* U+FFFD for a byte that is not UTF-8 */
            i++;
        }
    }
    buf_putc(out, '"');
}

void rjson_put_string(struct buf *out, const char *s)
{
    put_string_n(out, (const unsigned char *)s, strlen(s));
}

/* A string that would pass the budget is cut at a character boundary. */
static void put_string(struct writer *w, const char *s)
{
    size_t n = strlen(s);

    if (w->limit && w->out->len + n + 2 > w->limit) {
        size_t room = w->limit > w->out->len + 2 ? w->limit - w->out->len - 2 : 0;

        while (room > 0 && ((unsigned char)s[room] & 0xc0) == 0x80)
            room--;
        n = room < n ? room : n;
        w->over = true;
    }
    put_string_n(w->out, (const unsigned char *)s, n);
}

/* ---- numbers ---- */

static void put_int64(struct writer *w, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    put_lit(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void put_double(struct writer *w, double d)
{
    char tmp[RJSON_DOUBLE_MAX];

    if (isnan(d)) {
        if (sexp_real_is_na(d))
            PUT(w, "null");
        else
            PUT(w, "\"NaN\"");
    } else if (isinf(d)) {
        if (d > 0)
            PUT(w, "\"Inf\"");
        else
            PUT(w, "\"-Inf\"");
    } else if (fabs(d) < 1e15 && d == (double)(int64_t)d && !(d == 0 && signbit(d))) {
        /* The range test comes first: converting a double outside int64's
         * range is undefined behaviour. */
        put_int64(w, (int64_t)d); /* the common case of whole numbers, without digit search */
    } else {
        put_lit(w, tmp, rjson_format_double(tmp, d));
    }
}

/* ---- dates and times ---- */

/* The civil date of a day count since 1970-01-01 (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    yoe = z - era * 146097;
    yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
    doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static void put_date(struct writer *w, double days)
{
    char tmp[48];
    int64_t y;
    unsigned m, d;

    if (!isfinite(days) || fabs(days) > 1e9) {
        put_double(w, days);
        return;
    }
    civil_from_days((int64_t)floor(days), &y, &m, &d);
    put_lit(w, tmp, (size_t)snprintf(tmp, sizeof(tmp), "\"%04" PRId64 "-%02u-%02u\"", y, m, d));
}

static void put_posixct(struct writer *w, double secs)
{
    char tmp[64];
    int64_t ms, days, rest, y;
    unsigned m, d;
    int n;

    if (!isfinite(secs) || fabs(secs) > 1e14) {
        put_double(w, secs);
        return;
    }
    ms = (int64_t)llround(secs * 1000.0);
    days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    rest = ms - days * 86400000;
    civil_from_days(days, &y, &m, &d);
    n = snprintf(tmp, sizeof(tmp), "\"%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", y, m, d,
                 (int)(rest / 3600000), (int)(rest / 60000 % 60), (int)(rest / 1000 % 60));
    if (rest % 1000)
        n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, ".%03d", (int)(rest % 1000));
    n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "Z\"");
    put_lit(w, tmp, (size_t)n);
}

/* ---- atomic vectors ---- */

static struct atoms atoms_of(const struct sexp *x)
{
    struct atoms a = {x, STYLE_PLAIN, NULL};
    const struct sexp *levels = sexp_attr(x, "levels");

    if (x->kind == SEXP_INT && levels && levels->kind == SEXP_STR && sexp_inherits(x, "factor")) {
        a.style = STYLE_FACTOR;
        a.levels = levels;
    } else if (x->kind == SEXP_REAL || x->kind == SEXP_INT) {
        if (sexp_inherits(x, "Date"))
            a.style = STYLE_DATE;
        else if (sexp_inherits(x, "POSIXct"))
            a.style = STYLE_POSIXCT;
        else if (x->kind == SEXP_REAL && sexp_inherits(x, "integer64"))
            a.style = STYLE_INT64;
    }
    return a;
}

static void put_int_elt(struct writer *w, const struct atoms *a, int32_t v)
{
    if (v == SEXP_NA_INTEGER) {
        PUT(w, "null");
        return;
    }
    switch (a->style) {
    case STYLE_FACTOR:
        if (v >= 1 && (uint64_t)v <= a->levels->n && a->levels->v.str[v - 1])
            put_string(w, a->levels->v.str[v - 1]);
        else
            PUT(w, "null");
        return;
    case STYLE_DATE:
        put_date(w, v);
        return;
    case STYLE_POSIXCT:
        put_posixct(w, v);
        return;
    default:
        put_int64(w, v);
    }
}

static void put_real_elt(struct writer *w, const struct atoms *a, uint64_t i)
{
    double d = sexp_real_at(a->x, i);
    int64_t big;

    switch (a->style) {
    case STYLE_INT64:
        memcpy(&big, a->x->v.bytes + 8 * i, 8);
        if (big == INT64_MIN)
            PUT(w, "null");
        else
            put_int64(w, big);
        return;
    case STYLE_DATE:
    case STYLE_POSIXCT:
        if (isnan(d))
            PUT(w, "null");
        else if (a->style == STYLE_DATE)
            put_date(w, d);
        else
            put_posixct(w, d);
        return;
    default:
        put_double(w, d);
    }
}

static void put_complex(struct writer *w, const struct sexp *x, uint64_t i)
{
    double re, im;

    memcpy(&re, x->v.bytes + 16 * i, 8);
    memcpy(&im, x->v.bytes + 16 * i + 8, 8);
    if (sexp_real_is_na(re) || sexp_real_is_na(im)) {
        PUT(w, "null");
        return;
    }
    PUT(w, "{\"re\":");
    put_double(w, re);
    PUT(w, ",\"im\":");
    put_double(w, im);
    buf_putc(w->out, '}');
}

static void put_elt(struct writer *w, const struct atoms *a, uint64_t i)
{
    const struct sexp *x = a->x;

    switch (x->kind) {
    case SEXP_LGL:
        if (x->v.bytes[i] == 0)
            PUT(w, "false");
        else if (x->v.bytes[i] == 1)
            PUT(w, "true");
        else
            PUT(w, "null");
        break;
    case SEXP_INT:
        put_int_elt(w, a, sexp_int_at(x, i));
        break;
    case SEXP_REAL:
        put_real_elt(w, a, i);
        break;
    case SEXP_CPLX:
        put_complex(w, x, i);
        break;
    case SEXP_STR:
        if (x->v.str[i])
            put_string(w, x->v.str[i]);
        else
            PUT(w, "null");
        break;
    default:
        PUT(w, "null");
    }
}

static void put_atom_array(struct writer *w, const struct sexp *x)
{
    struct atoms a = atoms_of(x);

    buf_putc(w->out, '[');
    for (uint64_t i = 0; i < x->n && !w->over; i++) {
        if (i)
            buf_putc_fast(w->out, ',');
        put_elt(w, &a, i);
        check_budget(w);
    }
    buf_putc(w->out, ']');
}

static void put_base64(struct writer *w, const uint8_t *p, uint64_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];

    buf_putc(w->out, '"');
    for (uint64_t i = 0; i < n && !w->over; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);

        q[0] = tab[v >> 18];
        q[1] = tab[v >> 12 & 63];
        q[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? tab[v & 63] : '=';
        buf_append(w->out, q, 4);
        if ((i & 1023) == 0)
            check_budget(w);
    }
    buf_putc(w->out, '"');
}

/* ---- containers ---- */

/* The names of x's elements when they make a usable object: a character
 * vector of the same length. */
static const struct sexp *names_of(const struct sexp *x)
{
    const struct sexp *names = sexp_attr(x, "names");

    if (names && names->kind == SEXP_STR && names->n == x->n)
        return names;
    return NULL;
}

static void put_key(struct writer *w, const char *key)
{
    put_string(w, key ? key : "");
    buf_putc(w->out, ':');
}

static void put_named_atoms(struct writer *w, const struct sexp *x, const struct sexp *names)
{
    struct atoms a = atoms_of(x);

    buf_putc(w->out, '{');
    for (uint64_t i = 0; i < x->n && !w->over; i++) {
        if (i)
            buf_putc(w->out, ',');
        put_key(w, names->v.str[i]);
        put_elt(w, &a, i);
        check_budget(w);
    }
    buf_putc(w->out, '}');
}

static void put_class(struct writer *w, const struct sexp *x)
{
    const struct sexp *cls = sexp_attr(x, "class");

    if (cls && cls->kind == SEXP_STR) {
        PUT(w, ",\"class\":");
        put_atom_array(w, cls);
    }
}

/* Values with no JSON form: their type, length and class. */
static void put_placeholder(struct writer *w, const struct sexp *x)
{
    PUT(w, "{\"r_type\":");
    put_string(w, sexp_kind_name(x->kind));
    if (x->kind == SEXP_SYM && x->n == 1) {
        PUT(w, ",\"name\":");
        put_string(w, x->v.str[0]);
    } else if (x->kind == SEXP_OTHER) {
        PUT(w, ",\"sexptype\":");
        put_int64(w, x->unknown_type);
    } else if (x->kind != SEXP_S4 && x->kind != SEXP_CLOS) {
        PUT(w, ",\"length\":");
        put_int64(w, (int64_t)x->n);
    }
    put_class(w, x);
    buf_putc(w->out, '}');
}

static void put_dimnames(struct writer *w, const struct sexp *dn)
{
    PUT(w, ",\"dimnames\":[");
    for (uint64_t i = 0; i < dn->n && !w->over; i++) {
        const struct sexp *names = dn->v.elts[i];

        if (i)
            buf_putc(w->out, ',');
        if (names && names->kind == SEXP_STR)
            put_atom_array(w, names);
        else
            PUT(w, "null");
    }
    buf_putc(w->out, ']');
}

/* Matrices and arrays keep their shape: values in R's column-major order. */
static void put_array(struct writer *w, const struct sexp *x, const struct sexp *dim)
{
    const struct sexp *dn = sexp_attr(x, "dimnames");

    PUT(w, "{\"dim\":");
    put_atom_array(w, dim);
    if (dn && dn->kind == SEXP_VEC && dn->n == dim->n)
        put_dimnames(w, dn);
    PUT(w, ",\"values\":");
    put_atom_array(w, x);
    buf_putc(w->out, '}');
}

static void put_atomic(struct writer *w, const struct sexp *x)
{
    const struct sexp *dim = sexp_attr(x, "dim");
    const struct sexp *names = names_of(x);
    struct atoms a;

    if (x->kind == SEXP_RAW) {
        put_base64(w, x->v.bytes, x->n);
    } else if (dim && dim->kind == SEXP_INT) {
        put_array(w, x, dim);
    } else if (names) {
        put_named_atoms(w, x, names);
    } else if (x->n == 1) {
        a = atoms_of(x);
        put_elt(w, &a, 0);
    } else {
        put_atom_array(w, x);
    }
}

/* Generic vectors and pairlists: an object when named, else an array. */
static void put_list(struct writer *w, const struct sexp *x)
{
    const struct sexp *names = x->kind == SEXP_VEC ? names_of(x) : NULL;
    bool tagged = x->kind == SEXP_LIST && x->tags;
    bool object = names || tagged;

    buf_putc(w->out, object ? '{' : '[');
    for (uint64_t i = 0; i < x->n && !w->over; i++) {
        if (i)
            buf_putc(w->out, ',');
        if (names)
            put_key(w, names->v.str[i]);
        else if (tagged)
            put_key(w, sexp_sym_name(x->tags[i]));
        write_value(w, x->v.elts[i]);
        check_budget(w);
    }
    buf_putc(w->out, object ? '}' : ']');
}

static uint64_t df_nrow(const struct sexp *df)
{
    const struct sexp *rn = sexp_attr(df, "row.names");

    /* R stores automatic row names compactly as c(NA, -n). */
    if (rn && rn->kind == SEXP_INT && rn->n == 2 && sexp_int_at(rn, 0) == SEXP_NA_INTEGER) {
        int32_t n = sexp_int_at(rn, 1);

        return (uint64_t)(n < 0 ? -(int64_t)n : n);
    }
    if (rn)
        return rn->n;
    return df->n && df->v.elts[0] ? df->v.elts[0]->n : 0;
}

static const char *column_class(const struct sexp *col)
{
    const struct sexp *cls = sexp_attr(col, "class");
    static const char *const by_kind[] = {
        [SEXP_LGL] = "logical",  [SEXP_INT] = "integer",   [SEXP_REAL] = "numeric",
        [SEXP_CPLX] = "complex", [SEXP_STR] = "character", [SEXP_RAW] = "raw",
        [SEXP_VEC] = "list",
    };

    if (!col)
        return "NULL";
    if (cls && cls->kind == SEXP_STR && cls->n && cls->v.str[0])
        return cls->v.str[0];
    if (col->kind < sizeof(by_kind) / sizeof(by_kind[0]) && by_kind[col->kind])
        return by_kind[col->kind];
    return sexp_kind_name(col->kind);
}

static void put_column(struct writer *w, const struct sexp *col)
{
    if (!col) {
        PUT(w, "null");
    } else if (col->kind >= SEXP_LGL && col->kind <= SEXP_STR) {
        put_atom_array(w, col);
    } else if (col->kind == SEXP_VEC && !sexp_inherits(col, "data.frame")) {
        buf_putc(w->out, '[');
        for (uint64_t i = 0; i < col->n && !w->over; i++) {
            if (i)
                buf_putc(w->out, ',');
            write_value(w, col->v.elts[i]);
            check_budget(w);
        }
        buf_putc(w->out, ']');
    } else {
        write_value(w, col);
    }
}

/* A data frame, column by column: names[i] labels columns[i]. */
static void put_data_frame(struct writer *w, const struct sexp *df)
{
    const struct sexp *names = names_of(df);
    const struct sexp *rn = sexp_attr(df, "row.names");

    PUT(w, "{\"r_type\":\"data.frame\",\"nrow\":");
    put_int64(w, (int64_t)df_nrow(df));
    PUT(w, ",\"names\":");
    if (names)
        put_atom_array(w, names);
    else
        PUT(w, "[]");
    PUT(w, ",\"classes\":[");
    for (uint64_t i = 0; i < df->n && !w->over; i++) {
        if (i)
            buf_putc(w->out, ',');
        put_string(w, column_class(df->v.elts[i]));
        check_budget(w);
    }
    PUT(w, "]");
    if (rn && rn->kind == SEXP_STR) {
        PUT(w, ",\"row_names\":");
        put_atom_array(w, rn);
    }
    PUT(w, ",\"columns\":[");
    for (uint64_t i = 0; i < df->n && !w->over; i++) {
        if (i)
            buf_putc(w->out, ',');
        put_column(w, df->v.elts[i]);
        check_budget(w);
    }
    PUT(w, "]}");
}

static void write_value(struct writer *w, const struct sexp *x)
{
    if (!x) {
        PUT(w, "null");
        return;
    }
    switch (x->kind) {
    case SEXP_NIL:
        PUT(w, "null");
        break;
    case SEXP_LGL:
    case SEXP_INT:
    case SEXP_REAL:
    case SEXP_CPLX:
    case SEXP_STR:
    case SEXP_RAW:
        put_atomic(w, x);
        break;
    case SEXP_VEC:
        if (sexp_inherits(x, "data.frame"))
            put_data_frame(w, x);
        else
            put_list(w, x);
        break;
    case SEXP_LIST:
        put_list(w, x);
        break;
    default:
        put_placeholder(w, x);
    }
}

struct rjson_result rjson_write(struct buf *out, const struct sexp *x, size_t max_bytes)
{
    struct writer w = {out, max_bytes ? out->len + max_bytes : 0, false};
    size_t start = out->len;

    write_value(&w, x);
    return (struct rjson_result){w.over, out->len - start};
}
