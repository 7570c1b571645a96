/* The allocation wrappers and panic(): the out-of-memory policy in one place. */
#include "proxy/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mem_panic(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "level=fatal file=%s line=%d msg=\"", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\"\n", stderr);
    abort();
}

void *mem_alloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        mem_panic(file, line, "out of memory allocating %zu bytes", n);
    return p;
}

void *mem_calloc(size_t k, size_t n, const char *file, int line)
{
    void *p = calloc(k ? k : 1, n ? n : 1);

    if (!p)
        mem_panic(file, line, "out of memory allocating %zu x %zu bytes", k, n);
    return p;
}

void *mem_realloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        mem_panic(file, line, "out of memory reallocating to %zu bytes", n);
    return q;
}

char *mem_strdup(const char *s, const char *file, int line)
{
    return mem_strndup(s, strlen(s), file, line);
}

char *mem_strndup(const char *s, size_t n, const char *file, int line)
{
    size_t len = strnlen(s, n);
    char *p = mem_alloc(len + 1, file, line);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
