/* A small shared pool of pipes for splice(2): large QAP1 payloads move
 * from one socket to the other through a pipe, never through user space. */
#ifndef OMCP_QAPF_PIPES_H
#define OMCP_QAPF_PIPES_H

#include <stdbool.h>
#include <stddef.h>

struct qapf_pipe {
    int rd, wr;
    struct qapf_pipe *next; /* on the pool's idle list */
};

struct qapf_pipes {
    struct qapf_pipe *idle;
    unsigned nidle, in_use;
    unsigned max_idle;  /* pipes kept open for the next large payload */
    unsigned max_total; /* past this many in use, payloads are copied instead */
    size_t size;        /* asked of F_SETPIPE_SZ; the kernel may give less */
};

void qapf_pipes_init(struct qapf_pipes *pp, unsigned max_idle, unsigned max_total, size_t size);
/* An empty pipe, or NULL when none can be had (limit, EMFILE): copy then. */
struct qapf_pipe *qapf_pipe_get(struct qapf_pipes *pp);
/* Gives a pipe back; one that may still hold bytes is closed, not kept. */
void qapf_pipe_put(struct qapf_pipes *pp, struct qapf_pipe *p, bool empty);
void qapf_pipes_free(struct qapf_pipes *pp);

#endif
