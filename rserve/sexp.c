/* XT_* decoding into an arena-held tree and encoding back. Every length is
 * checked against the bytes that hold it before it is used. */
#include "rserve/sexp.h"
#include "proxy/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Vector data is used in place, so the host must share the wire's order. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "QAP1 data is little-endian");

#define ARENA_CHUNK (64 * 1024)

struct sexp_chunk {
    struct sexp_chunk *next;
    size_t size;
    _Alignas(16) uint8_t bytes[];
};

void sexp_arena_init(struct sexp_arena *a)
{
    a->chunks = NULL;
    a->used = 0;
    a->total = 0;
}

void sexp_arena_free(struct sexp_arena *a)
{
    struct sexp_chunk *c = a->chunks, *next;

    for (; c; c = next) {
        next = c->next;
        free(c);
    }
    sexp_arena_init(a);
}

static struct sexp_chunk *chunk_new(size_t size)
{
    struct sexp_chunk *c = xmalloc(sizeof(*c) + size);

    c->next = NULL;
    c->size = size;
    return c;
}

void *sexp_arena_alloc(struct sexp_arena *a, size_t n)
{
    struct sexp_chunk *c;

    n = (n + 15) & ~(size_t)15;
    if (n > ARENA_CHUNK / 4) {
        /* Large blocks get a chunk of their own behind the current one, so
         * the current chunk's free space is not wasted. */
        c = chunk_new(n);
        a->total += n;
        if (a->chunks) {
            c->next = a->chunks->next;
            a->chunks->next = c;
        } else {
            c->next = NULL;
            a->chunks = c;
            a->used = n;
        }
        return c->bytes;
    }
    if (!a->chunks || a->used + n > a->chunks->size) {
        c = chunk_new(ARENA_CHUNK);
        c->next = a->chunks;
        a->chunks = c;
        a->used = 0;
        a->total += ARENA_CHUNK;
    }
    a->used += n;
    return a->chunks->bytes + a->used - n;
}

/* ---- decoding ---- */

struct decoder {
    struct sexp_arena *arena;
    unsigned max_depth;
    size_t max_arena;
};

/* True when taking more bytes would pass the arena budget. */
static bool over_budget(const struct decoder *d, uint64_t more)
{
    return more > d->max_arena || d->arena->total > d->max_arena - more;
}

static enum qap_status decode_item(struct decoder *d, const uint8_t *p, size_t avail,
                                   unsigned depth, struct sexp **out, size_t *used);

static struct sexp *node_new(struct sexp_arena *a, enum sexp_kind kind, uint8_t xt)
{
    struct sexp *x = sexp_arena_alloc(a, sizeof(*x));

    memset(x, 0, sizeof(*x));
    x->kind = kind;
    x->xt = xt;
    return x;
}

/* Fixed-width vectors: the data stays in the input. */
static enum qap_status decode_fixed(struct sexp *x, const uint8_t *body, size_t len, size_t width)
{
    if (len % width)
        return QAP_EBADLEN;
    x->n = len / width;
    x->v.bytes = body;
    return QAP_OK;
}

/* XT_ARRAY_BOOL and XT_RAW: a count, the bytes, padding to 4. */
static enum qap_status decode_counted(struct sexp *x, const uint8_t *body, size_t len)
{
    uint32_t n;

    if (len < 4)
        return QAP_ETRUNC;
    n = qap_get_u32(body);
    if (n > len - 4 || len - 4 - n > 3)
        return QAP_EBADLEN;
    x->n = n;
    x->v.bytes = body + 4;
    return QAP_OK;
}

/* One NUL-terminated string padded with NULs (XT_STR, XT_SYMNAME). */
static enum qap_status decode_cstring(struct sexp_arena *a, struct sexp *x, const uint8_t *body,
                                      size_t len)
{
    if (!memchr(body, 0, len))
        return QAP_EBADSTR;
    x->n = 1;
    x->v.str = sexp_arena_alloc(a, sizeof(char *));
    x->v.str[0] = (const char *)body;
    return QAP_OK;
}

/* XT_ARRAY_STR: NUL-terminated strings, then 0x01 padding. "\xff" alone is
 * NA; a real leading 0xff byte arrives doubled. */
static enum qap_status decode_strings(struct decoder *d, struct sexp *x, const uint8_t *body,
                                      size_t len)
{
    const uint8_t *end = body + len, *p = body, *nul;
    size_t n = 0, i = 0;

    while (p < end && (nul = memchr(p, 0, (size_t)(end - p))) != NULL) {
        n++;
        p = nul + 1;
    }
    for (; p < end; p++)
        if (*p != 1)
            return QAP_EBADSTR;
    if (over_budget(d, (uint64_t)n * sizeof(char *)))
        return QAP_ETOOBIG;
    x->n = n;
    x->v.str = sexp_arena_alloc(d->arena, (n ? n : 1) * sizeof(char *));
    for (p = body; i < n; i++) {
        size_t l = strlen((const char *)p);

        if (p[0] == 0xff)
            x->v.str[i] = l == 1 ? NULL : (const char *)p + 1;
        else
            x->v.str[i] = (const char *)p;
        p += l + 1;
    }
    return QAP_OK;
}

/* Counts the items in [p, p+len) by their headers, without decoding. */
static enum qap_status count_items(const uint8_t *p, size_t len, uint64_t *count)
{
    struct qap_item it;
    size_t off = 0;
    enum qap_status st;

    *count = 0;
    while (off < len) {
        st = qap_item_parse(p + off, len - off, SEXP_XT_LARGE, &it);
        if (st != QAP_OK)
            return st;
        off += it.hdr_len + it.len;
        (*count)++;
    }
    return QAP_OK;
}

static enum qap_status decode_children(struct decoder *d, struct sexp *x, const uint8_t *body,
                                       size_t len, unsigned depth, bool tagged)
{
    uint64_t count, i;
    size_t off = 0, used;
    enum qap_status st = count_items(body, len, &count);

    if (st != QAP_OK)
        return st;
    if (tagged && count % 2)
        return QAP_EBADLEN;
    if (over_budget(d, count * sizeof(struct sexp *))) /* elements, and tags if tagged */
        return QAP_ETOOBIG;
    x->n = tagged ? count / 2 : count;
    x->v.elts = sexp_arena_alloc(d->arena, (x->n ? x->n : 1) * sizeof(struct sexp *));
    if (tagged)
        x->tags = sexp_arena_alloc(d->arena, (x->n ? x->n : 1) * sizeof(struct sexp *));
    for (i = 0; i < x->n; i++) {
        st = decode_item(d, body + off, len - off, depth + 1, &x->v.elts[i], &used);
        if (st != QAP_OK)
            return st;
        off += used;
        if (!tagged)
            continue;
        st = decode_item(d, body + off, len - off, depth + 1, &x->tags[i], &used);
        if (st != QAP_OK)
            return st;
        off += used;
    }
    return QAP_OK;
}

static enum qap_status decode_body(struct decoder *d, struct sexp *x, const uint8_t *body,
                                   size_t len, unsigned depth)
{
    switch (x->xt) {
    case SEXP_XT_NULL:
    case SEXP_XT_S4:
        return len == 0 ? QAP_OK : QAP_EBADLEN;
    case SEXP_XT_INT:
    case SEXP_XT_ARRAY_INT:
        return decode_fixed(x, body, len, 4);
    case SEXP_XT_DOUBLE:
    case SEXP_XT_ARRAY_DOUBLE:
        return decode_fixed(x, body, len, 8);
    case SEXP_XT_ARRAY_CPLX:
        return decode_fixed(x, body, len, 16);
    case SEXP_XT_BOOL:
        if (len < 1)
            return QAP_ETRUNC;
        x->n = 1;
        x->v.bytes = body;
        return QAP_OK;
    case SEXP_XT_ARRAY_BOOL:
    case SEXP_XT_RAW:
        return decode_counted(x, body, len);
    case SEXP_XT_STR:
    case SEXP_XT_SYM:
    case SEXP_XT_SYMNAME:
        return decode_cstring(d->arena, x, body, len);
    case SEXP_XT_ARRAY_STR:
        return decode_strings(d, x, body, len);
    case SEXP_XT_VECTOR:
    case SEXP_XT_VECTOR_EXP:
    case SEXP_XT_VECTOR_STR:
    case SEXP_XT_LIST_NOTAG:
    case SEXP_XT_LANG_NOTAG:
        return decode_children(d, x, body, len, depth, false);
    case SEXP_XT_LIST_TAG:
    case SEXP_XT_LANG_TAG:
        return decode_children(d, x, body, len, depth, true);
    case SEXP_XT_CLOS: {
        enum qap_status st = decode_children(d, x, body, len, depth, false);

        return st != QAP_OK ? st : x->n == 2 ? QAP_OK : QAP_EBADLEN;
    }
    case SEXP_XT_UNKNOWN:
        if (len != 4)
            return QAP_EBADLEN;
        x->unknown_type = qap_get_u32(body);
        return QAP_OK;
    default:
        return QAP_EBADTYPE;
    }
}

static enum sexp_kind kind_of_xt(uint8_t xt)
{
    switch (xt) {
    case SEXP_XT_NULL:
        return SEXP_NIL;
    case SEXP_XT_INT:
    case SEXP_XT_ARRAY_INT:
        return SEXP_INT;
    case SEXP_XT_DOUBLE:
    case SEXP_XT_ARRAY_DOUBLE:
        return SEXP_REAL;
    case SEXP_XT_ARRAY_CPLX:
        return SEXP_CPLX;
    case SEXP_XT_BOOL:
    case SEXP_XT_ARRAY_BOOL:
        return SEXP_LGL;
    case SEXP_XT_RAW:
        return SEXP_RAW;
    case SEXP_XT_STR:
    case SEXP_XT_ARRAY_STR:
        return SEXP_STR;
    case SEXP_XT_SYM:
    case SEXP_XT_SYMNAME:
        return SEXP_SYM;
    case SEXP_XT_VECTOR_EXP:
        return SEXP_EXPR;
    case SEXP_XT_LIST_NOTAG:
    case SEXP_XT_LIST_TAG:
        return SEXP_LIST;
    case SEXP_XT_LANG_NOTAG:
    case SEXP_XT_LANG_TAG:
        return SEXP_LANG;
    case SEXP_XT_CLOS:
        return SEXP_CLOS;
    case SEXP_XT_S4:
        return SEXP_S4;
    case SEXP_XT_UNKNOWN:
        return SEXP_OTHER;
    default:
        return SEXP_VEC;
    }
}

/* Decodes the item at p; *used is its size including the header. */
static enum qap_status decode_item(struct decoder *d, const uint8_t *p, size_t avail,
                                   unsigned depth, struct sexp **out, size_t *used)
{
    struct qap_item it;
    struct sexp *x;
    size_t attr_len = 0;
    enum qap_status st;

    if (depth > d->max_depth)
        return QAP_EDEPTH;
    st = qap_item_parse(p, avail, SEXP_XT_LARGE, &it);
    if (st != QAP_OK)
        return st;
    if (it.len % 4)
        return QAP_EBADLEN;
    if (over_budget(d, sizeof(*x)))
        return QAP_ETOOBIG;
    x = node_new(d->arena, SEXP_NIL, it.type & 63);
    x->kind = kind_of_xt(x->xt);
    if (it.type & SEXP_XT_HAS_ATTR) {
        st = decode_item(d, it.body, it.len, depth + 1, &x->attr, &attr_len);
        if (st != QAP_OK)
            return st;
    }
    st = decode_body(d, x, it.body + attr_len, it.len - attr_len, depth);
    if (st != QAP_OK)
        return st;
    *out = x;
    *used = it.hdr_len + it.len;
    return QAP_OK;
}

enum qap_status sexp_decode(const uint8_t *p, size_t len, struct sexp_arena *a,
                            const struct sexp_limits *lim, struct sexp **out)
{
    struct decoder d = {a, lim && lim->max_depth ? lim->max_depth : SEXP_DEFAULT_DEPTH,
                        lim && lim->max_arena ? lim->max_arena : SEXP_DEFAULT_ARENA};
    size_t used = 0;
    enum qap_status st = decode_item(&d, p, len, 0, out, &used);

    if (st == QAP_OK && used != len)
        return QAP_EBADLEN;
    return st;
}

enum qap_status sexp_decode_param(const uint8_t *p, size_t len, struct sexp_arena *a,
                                  const struct sexp_limits *lim, struct sexp **out)
{
    struct qap_item it;
    enum qap_status st;

    if (len == 0) {
        *out = node_new(a, SEXP_NIL, SEXP_XT_NULL);
        return QAP_OK;
    }
    st = qap_item_parse(p, len, QAP_DT_LARGE, &it);
    if (st != QAP_OK)
        return st;
    if (it.type != QAP_DT_SEXP)
        return QAP_EBADTYPE;
    if (it.hdr_len + it.len != len)
        return QAP_EBADLEN;
    return sexp_decode(it.body, it.len, a, lim, out);
}

/* ---- encoding ---- */

static void put_u32(struct buf *out, uint32_t v)
{
    uint8_t b[4];

    qap_put_u32(b, v);
    buf_append(out, b, 4);
}

static void pad4(struct buf *out, size_t start, char pad)
{
    while ((out->len - start) % 4)
        buf_putc(out, pad);
}

static void encode_item(struct buf *out, const struct sexp *x);

static void encode_strings(struct buf *out, const struct sexp *x, size_t start)
{
    for (uint64_t i = 0; i < x->n; i++) {
        const char *s = x->v.str[i];

        if (!s) {
            buf_append(out, "\xff", 2);
            continue;
        }
        if ((unsigned char)s[0] == 0xff)
            buf_putc(out, (char)0xff);
        buf_append(out, s, strlen(s) + 1);
    }
    pad4(out, start, 1);
}

static void encode_counted(struct buf *out, const struct sexp *x, size_t start, char pad)
{
    put_u32(out, (uint32_t)x->n);
    buf_append(out, x->v.bytes, x->n);
    pad4(out, start, pad);
}

static void encode_children(struct buf *out, const struct sexp *x, bool tagged)
{
    static const struct sexp nil = {.kind = SEXP_NIL, .xt = SEXP_XT_NULL};

    for (uint64_t i = 0; i < x->n; i++) {
        encode_item(out, x->v.elts[i] ? x->v.elts[i] : &nil);
        if (tagged)
            encode_item(out, x->tags && x->tags[i] ? x->tags[i] : &nil);
    }
}

static void encode_body(struct buf *out, const struct sexp *x, uint8_t xt)
{
    size_t start = out->len;

    switch (xt) {
    case SEXP_XT_INT:
    case SEXP_XT_ARRAY_INT:
        buf_append(out, x->v.bytes, x->n * 4);
        break;
    case SEXP_XT_DOUBLE:
    case SEXP_XT_ARRAY_DOUBLE:
        buf_append(out, x->v.bytes, x->n * 8);
        break;
    case SEXP_XT_ARRAY_CPLX:
        buf_append(out, x->v.bytes, x->n * 16);
        break;
    case SEXP_XT_BOOL:
        buf_append(out, x->v.bytes, 1);
        pad4(out, start, 0);
        break;
    case SEXP_XT_ARRAY_BOOL:
        encode_counted(out, x, start, (char)0xff);
        break;
    case SEXP_XT_RAW:
        encode_counted(out, x, start, 0);
        break;
    case SEXP_XT_STR:
    case SEXP_XT_SYM:
    case SEXP_XT_SYMNAME:
        buf_append(out, x->v.str[0], strlen(x->v.str[0]) + 1);
        pad4(out, start, 0);
        break;
    case SEXP_XT_ARRAY_STR:
        encode_strings(out, x, start);
        break;
    case SEXP_XT_LIST_TAG:
    case SEXP_XT_LANG_TAG:
        encode_children(out, x, true);
        break;
    case SEXP_XT_UNKNOWN:
        put_u32(out, x->unknown_type);
        break;
    case SEXP_XT_NULL:
    case SEXP_XT_S4:
        break;
    default:
        encode_children(out, x, false);
        break;
    }
}

/* Pairlists and calls go tagged exactly when they carry tags. */
static uint8_t wire_type(const struct sexp *x)
{
    if (x->kind == SEXP_LIST)
        return x->tags ? SEXP_XT_LIST_TAG : SEXP_XT_LIST_NOTAG;
    if (x->kind == SEXP_LANG)
        return x->tags ? SEXP_XT_LANG_TAG : SEXP_XT_LANG_NOTAG;
    return x->xt;
}

static void encode_item(struct buf *out, const struct sexp *x)
{
    size_t start = out->len;
    uint64_t len;
    uint8_t xt = wire_type(x);
    uint8_t type = (uint8_t)(xt | (x->attr ? SEXP_XT_HAS_ATTR : 0));

    buf_append(out, "\0\0\0\0", 4);
    if (x->attr)
        encode_item(out, x->attr);
    encode_body(out, x, xt);
    len = out->len - start - 4;
    if (len > QAP_SMALL_MAX) {
        /* Rare: only items above 16 MB need the 8-byte header. */
        buf_reserve(out, 4);
        memmove(out->data + start + 8, out->data + start + 4, len);
        out->len += 4;
        out->data[out->len] = '\0';
    }
    qap_item_hdr_write((uint8_t *)out->data + start, type, SEXP_XT_LARGE, len);
}

void sexp_encode(struct buf *out, const struct sexp *x)
{
    encode_item(out, x);
}

void sexp_encode_param(struct buf *out, const struct sexp *x)
{
    size_t start = out->len;
    uint64_t len;

    buf_append(out, "\0\0\0\0", 4);
    encode_item(out, x);
    len = out->len - start - 4;
    if (len > QAP_SMALL_MAX) {
        buf_reserve(out, 4);
        memmove(out->data + start + 8, out->data + start + 4, len);
        out->len += 4;
        out->data[out->len] = '\0';
    }
    qap_item_hdr_write((uint8_t *)out->data + start, QAP_DT_SEXP, QAP_DT_LARGE, len);
}

static void put_param(struct buf *out, uint8_t type, const void *bytes, size_t n, size_t padded)
{
    uint8_t hdr[8];
    size_t start;

    buf_append(out, hdr, qap_item_hdr_write(hdr, type, QAP_DT_LARGE, padded));
    start = out->len;
    buf_append(out, bytes, n);
    while (out->len - start < padded)
        buf_putc(out, 0);
}

void qap_put_string_param(struct buf *out, const char *s)
{
    size_t n = strlen(s) + 1;

    put_param(out, QAP_DT_STRING, s, n, (n + 3) & ~(size_t)3);
}

void qap_put_bytes_param(struct buf *out, const void *bytes, size_t n)
{
    put_param(out, QAP_DT_BYTESTREAM, bytes, n, n);
}

/* ---- access ---- */

double sexp_real_at(const struct sexp *x, uint64_t i)
{
    double d;

    memcpy(&d, x->v.bytes + 8 * i, 8);
    return d;
}

bool sexp_real_is_na(double d)
{
    uint64_t bits;

    /* R's rule: a NaN whose low word is 1954 is NA, whatever the quiet bit. */
    memcpy(&bits, &d, 8);
    return isnan(d) && (uint32_t)bits == 1954;
}

const char *sexp_sym_name(const struct sexp *sym)
{
    if (!sym || sym->kind != SEXP_SYM || sym->n != 1)
        return NULL;
    return sym->v.str[0];
}

const struct sexp *sexp_attr(const struct sexp *x, const char *name)
{
    const struct sexp *attr = x ? x->attr : NULL;

    if (!attr || attr->kind != SEXP_LIST || !attr->tags)
        return NULL;
    for (uint64_t i = 0; i < attr->n; i++) {
        const char *tag = sexp_sym_name(attr->tags[i]);

        if (tag && strcmp(tag, name) == 0)
            return attr->v.elts[i];
    }
    return NULL;
}

bool sexp_inherits(const struct sexp *x, const char *cls)
{
    const struct sexp *c = sexp_attr(x, "class");

    if (!c || c->kind != SEXP_STR)
        return false;
    for (uint64_t i = 0; i < c->n; i++)
        if (c->v.str[i] && strcmp(c->v.str[i], cls) == 0)
            return true;
    return false;
}

/* ---- building ---- */

static uint8_t default_xt(enum sexp_kind kind)
{
    static const uint8_t xt[] = {
        [SEXP_NIL] = SEXP_XT_NULL,        [SEXP_LGL] = SEXP_XT_ARRAY_BOOL,
        [SEXP_INT] = SEXP_XT_ARRAY_INT,   [SEXP_REAL] = SEXP_XT_ARRAY_DOUBLE,
        [SEXP_CPLX] = SEXP_XT_ARRAY_CPLX, [SEXP_STR] = SEXP_XT_ARRAY_STR,
        [SEXP_RAW] = SEXP_XT_RAW,         [SEXP_VEC] = SEXP_XT_VECTOR,
        [SEXP_EXPR] = SEXP_XT_VECTOR_EXP, [SEXP_LIST] = SEXP_XT_LIST_TAG,
        [SEXP_LANG] = SEXP_XT_LANG_TAG,   [SEXP_SYM] = SEXP_XT_SYMNAME,
        [SEXP_CLOS] = SEXP_XT_CLOS,       [SEXP_S4] = SEXP_XT_S4,
        [SEXP_OTHER] = SEXP_XT_UNKNOWN,
    };

    return xt[kind];
}

struct sexp *sexp_new(struct sexp_arena *a, enum sexp_kind kind, uint64_t n)
{
    struct sexp *x = node_new(a, kind, default_xt(kind));
    size_t slots = n ? n : 1;

    x->n = n;
    if (kind == SEXP_STR || kind == SEXP_SYM) {
        x->v.str = sexp_arena_alloc(a, slots * sizeof(char *));
        memset(x->v.str, 0, slots * sizeof(char *));
    } else if (kind >= SEXP_VEC && kind <= SEXP_LANG) {
        x->v.elts = sexp_arena_alloc(a, slots * sizeof(struct sexp *));
        memset(x->v.elts, 0, slots * sizeof(struct sexp *));
        x->xt = kind == SEXP_LIST   ? SEXP_XT_LIST_NOTAG
                : kind == SEXP_LANG ? SEXP_XT_LANG_NOTAG
                                    : x->xt;
    } else if (kind == SEXP_CLOS) {
        x->n = 2;
        x->v.elts = sexp_arena_alloc(a, 2 * sizeof(struct sexp *));
        x->v.elts[0] = x->v.elts[1] = NULL;
    }
    return x;
}

static const char *arena_strdup(struct sexp_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = sexp_arena_alloc(a, n);

    memcpy(copy, s, n);
    return copy;
}

struct sexp *sexp_new_str1(struct sexp_arena *a, const char *s)
{
    struct sexp *x = sexp_new(a, SEXP_STR, 1);

    x->v.str[0] = s ? arena_strdup(a, s) : NULL;
    return x;
}

struct sexp *sexp_new_sym(struct sexp_arena *a, const char *name)
{
    struct sexp *x = sexp_new(a, SEXP_SYM, 1);

    x->v.str[0] = arena_strdup(a, name);
    return x;
}

static struct sexp *new_data(struct sexp_arena *a, enum sexp_kind kind, const void *v, size_t n,
                             size_t width)
{
    struct sexp *x = sexp_new(a, kind, n);
    uint8_t *copy = sexp_arena_alloc(a, n * width + 1);

    if (n)
        memcpy(copy, v, n * width);
    x->v.bytes = copy;
    return x;
}

struct sexp *sexp_new_raw(struct sexp_arena *a, const void *bytes, size_t n)
{
    return new_data(a, SEXP_RAW, bytes, n, 1);
}

struct sexp *sexp_new_reals(struct sexp_arena *a, const double *v, size_t n)
{
    return new_data(a, SEXP_REAL, v, n, 8);
}

struct sexp *sexp_new_ints(struct sexp_arena *a, const int32_t *v, size_t n)
{
    return new_data(a, SEXP_INT, v, n, 4);
}

struct sexp *sexp_new_lgls(struct sexp_arena *a, const uint8_t *v, size_t n)
{
    return new_data(a, SEXP_LGL, v, n, 1);
}

struct sexp *sexp_new_cplx(struct sexp_arena *a, const double *v, size_t n)
{
    return new_data(a, SEXP_CPLX, v, n, 16);
}

void sexp_set_attr(struct sexp_arena *a, struct sexp *x, const char *name, struct sexp *value)
{
    struct sexp *old = x->attr && x->attr->tags ? x->attr : NULL, *attr;
    uint64_t n = old ? old->n : 0;

    for (uint64_t i = 0; i < n; i++) {
        const char *tag = sexp_sym_name(old->tags[i]);

        if (tag && strcmp(tag, name) == 0) {
            old->v.elts[i] = value;
            return;
        }
    }
    attr = sexp_new(a, SEXP_LIST, n + 1);
    attr->xt = SEXP_XT_LIST_TAG;
    attr->tags = sexp_arena_alloc(a, (n + 1) * sizeof(struct sexp *));
    for (uint64_t i = 0; i < n; i++) {
        attr->v.elts[i] = old->v.elts[i];
        attr->tags[i] = old->tags[i];
    }
    attr->v.elts[n] = value;
    attr->tags[n] = sexp_new_sym(a, name);
    x->attr = attr;
}

const char *sexp_kind_name(enum sexp_kind kind)
{
    static const char *const names[] = {
        [SEXP_NIL] = "NULL",      [SEXP_LGL] = "logical",   [SEXP_INT] = "integer",
        [SEXP_REAL] = "double",   [SEXP_CPLX] = "complex",  [SEXP_STR] = "character",
        [SEXP_RAW] = "raw",       [SEXP_VEC] = "list",      [SEXP_EXPR] = "expression",
        [SEXP_LIST] = "pairlist", [SEXP_LANG] = "language", [SEXP_SYM] = "symbol",
        [SEXP_CLOS] = "closure",  [SEXP_S4] = "S4",         [SEXP_OTHER] = "unknown",
    };

    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}
