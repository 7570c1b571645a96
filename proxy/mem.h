/* Allocation with one out-of-memory policy for the whole daemon: a failed
 * allocation logs file and line and aborts. A daemon that cannot allocate a
 * few hundred bytes cannot serve anyone correctly; crashing lets the state
 * file and the supervisor bring it back cleanly (see docs/errors.md). */
#ifndef OMCP_MEM_H
#define OMCP_MEM_H

#include <stddef.h>

#define xmalloc(n)     mem_alloc((n), __FILE__, __LINE__)
#define xcalloc(k, n)  mem_calloc((k), (n), __FILE__, __LINE__)
#define xrealloc(p, n) mem_realloc((p), (n), __FILE__, __LINE__)
#define xstrdup(s)     mem_strdup((s), __FILE__, __LINE__)
#define xstrndup(s, n) mem_strndup((s), (n), __FILE__, __LINE__)

void *mem_alloc(size_t n, const char *file, int line);
void *mem_calloc(size_t k, size_t n, const char *file, int line);
void *mem_realloc(void *p, size_t n, const char *file, int line);
char *mem_strdup(const char *s, const char *file, int line);
char *mem_strndup(const char *s, size_t n, const char *file, int line);

/* For what cannot happen: prints file, line and message, then aborts. */
#define panic(...) mem_panic(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void mem_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
