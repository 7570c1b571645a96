/* R values as QAP1 carries them (XT_* items): a decoded tree whose vectors
 * point into the frame's bytes, and an encoder back to the wire form. */
#ifndef OMCP_SEXP_H
#define OMCP_SEXP_H

#include "proxy/buf.h"
#include "rserve/qap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wire types (XT_*). */
#define SEXP_XT_NULL          0
#define SEXP_XT_INT           1
#define SEXP_XT_DOUBLE        2
#define SEXP_XT_STR           3
#define SEXP_XT_LANG          4
#define SEXP_XT_SYM           5
#define SEXP_XT_BOOL          6
#define SEXP_XT_S4            7
#define SEXP_XT_VECTOR        16
#define SEXP_XT_LIST          17
#define SEXP_XT_CLOS          18
#define SEXP_XT_SYMNAME       19
#define SEXP_XT_LIST_NOTAG    20
#define SEXP_XT_LIST_TAG      21
#define SEXP_XT_LANG_NOTAG    22
#define SEXP_XT_LANG_TAG      23
#define SEXP_XT_VECTOR_EXP    26
#define SEXP_XT_VECTOR_STR    27
#define SEXP_XT_ARRAY_INT     32
#define SEXP_XT_ARRAY_DOUBLE  33
#define SEXP_XT_ARRAY_STR     34
#define SEXP_XT_ARRAY_BOOL_UA 35
#define SEXP_XT_ARRAY_BOOL    36
#define SEXP_XT_RAW           37
#define SEXP_XT_ARRAY_CPLX    38
#define SEXP_XT_UNKNOWN       48
#define SEXP_XT_LARGE         64
#define SEXP_XT_HAS_ATTR      128

/* R's missing values on the wire. */
#define SEXP_NA_INTEGER   INT32_MIN
#define SEXP_NA_LOGICAL   2 /* in XT_ARRAY_BOOL bytes */
#define SEXP_NA_REAL_BITS 0x7ff00000000007a2ull

/* The R type a decoded node stands for. */
enum sexp_kind {
    SEXP_NIL,
    SEXP_LGL,   /* n bytes: 0, 1, SEXP_NA_LOGICAL */
    SEXP_INT,   /* n little-endian int32 */
    SEXP_REAL,  /* n little-endian doubles */
    SEXP_CPLX,  /* n (re, im) pairs */
    SEXP_STR,   /* n strings, NULL for NA */
    SEXP_RAW,   /* n bytes */
    SEXP_VEC,   /* generic vector: n elements */
    SEXP_EXPR,  /* expression vector: n elements */
    SEXP_LIST,  /* pairlist: n elements, tags optional */
    SEXP_LANG,  /* call: n elements, tags optional */
    SEXP_SYM,   /* symbol: its name in str[0] */
    SEXP_CLOS,  /* closure: elts[0] formals, elts[1] body */
    SEXP_S4,    /* S4 object: everything is in attributes */
    SEXP_OTHER, /* XT_UNKNOWN: unknown_type holds R's SEXPTYPE */
};

struct sexp {
    enum sexp_kind kind;
    uint8_t xt; /* the wire type it came as (or is sent as) */
    uint32_t unknown_type;
    uint64_t n;        /* elements */
    struct sexp *attr; /* tagged pairlist, or NULL */
    union {
        const uint8_t *bytes; /* LGL, INT, REAL, CPLX, RAW: little-endian data */
        const char **str;     /* STR, SYM */
        struct sexp **elts;   /* VEC, EXPR, LIST, LANG, CLOS */
    } v;
    struct sexp **tags; /* LIST, LANG: symbol per element (NULL entries), or NULL */
};

/* Bump allocator that owns every node of a decoded or built tree; freed at
 * once. Decoded vectors point into the input, which must outlive the tree. */
struct sexp_arena {
    struct sexp_chunk *chunks;
    size_t used;  /* bytes in the newest chunk */
    size_t total; /* bytes in all chunks, for budgets */
};

void sexp_arena_init(struct sexp_arena *a);
void sexp_arena_free(struct sexp_arena *a);
void *sexp_arena_alloc(struct sexp_arena *a, size_t n);

struct sexp_limits {
    unsigned max_depth; /* nesting of items, attributes included; 0: default */
    size_t max_arena;   /* arena bytes for the tree (to within one chunk); 0: default */
};

#define SEXP_DEFAULT_DEPTH 128
/* A list of 4-byte NULL items costs ~18 times its wire size in nodes, so the
 * tree, not the frame, is what bounds memory; the default allows a list of
 * about seven million elements. */
#define SEXP_DEFAULT_ARENA ((size_t)512 << 20)

/* Decodes one XT item from exactly len bytes; QAP_ETOOBIG when the tree
 * would pass lim->max_arena. */
enum qap_status sexp_decode(const uint8_t *p, size_t len, struct sexp_arena *a,
                            const struct sexp_limits *lim, struct sexp **out);
/* Decodes a frame payload holding one DT_SEXP parameter (an eval result);
 * an empty payload decodes as NULL. */
enum qap_status sexp_decode_param(const uint8_t *p, size_t len, struct sexp_arena *a,
                                  const struct sexp_limits *lim, struct sexp **out);

/* Appends x as one XT item; the inverse of sexp_decode. */
void sexp_encode(struct buf *out, const struct sexp *x);
/* Appends x wrapped in a DT_SEXP parameter header. */
void sexp_encode_param(struct buf *out, const struct sexp *x);
/* Appends a DT_STRING parameter (NUL-terminated, padded to 4 bytes). */
void qap_put_string_param(struct buf *out, const char *s);
/* Appends a DT_BYTESTREAM parameter. */
void qap_put_bytes_param(struct buf *out, const void *bytes, size_t n);

/* Element access; the caller checks kind and index. */
static inline int32_t sexp_int_at(const struct sexp *x, uint64_t i)
{
    return (int32_t)qap_get_u32(x->v.bytes + 4 * i);
}
double sexp_real_at(const struct sexp *x, uint64_t i);
bool sexp_real_is_na(double d);

/* Attribute lookup by name; NULL when absent. */
const struct sexp *sexp_attr(const struct sexp *x, const char *name);
/* True when x has a "class" attribute containing cls. */
bool sexp_inherits(const struct sexp *x, const char *cls);
/* The name of a tag symbol, or NULL. */
const char *sexp_sym_name(const struct sexp *sym);

/* Builders for values a client sends; data is copied into the arena. */
struct sexp *sexp_new(struct sexp_arena *a, enum sexp_kind kind, uint64_t n);
struct sexp *sexp_new_str1(struct sexp_arena *a, const char *s);
struct sexp *sexp_new_raw(struct sexp_arena *a, const void *bytes, size_t n);
struct sexp *sexp_new_reals(struct sexp_arena *a, const double *v, size_t n);
struct sexp *sexp_new_ints(struct sexp_arena *a, const int32_t *v, size_t n);
/* v holds 0, 1 or SEXP_NA_LOGICAL per element. */
struct sexp *sexp_new_lgls(struct sexp_arena *a, const uint8_t *v, size_t n);
/* v holds n (re, im) pairs. */
struct sexp *sexp_new_cplx(struct sexp_arena *a, const double *v, size_t n);
struct sexp *sexp_new_sym(struct sexp_arena *a, const char *name);
/* Adds or replaces attribute name on x. */
void sexp_set_attr(struct sexp_arena *a, struct sexp *x, const char *name, struct sexp *value);

const char *sexp_kind_name(enum sexp_kind kind);

#endif
