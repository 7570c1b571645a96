/* A growable byte buffer: the one way the daemon assembles output (JSON,
 * HTTP responses, log lines, msgpack state). Never fails; see mem.h. */
#ifndef OMCP_BUF_H
#define OMCP_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    char *data; /* NUL-terminated for convenience; may hold NULs too */
    size_t len;
    size_t cap;
};

#define BUF_INIT   \
    {              \
        NULL, 0, 0 \
    }

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *bytes, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the bytes to the caller, who frees them; the buffer is left empty. */
char *buf_steal(struct buf *b, size_t *len);

static inline void buf_putc_fast(struct buf *b, char c)
{
    if (b->len + 1 >= b->cap)
        buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

#endif
