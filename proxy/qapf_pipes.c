/* The pipe pool behind splice(2). Pipes are cheap to keep and cost two
 * descriptors and a few pages each, so only a handful stay open. */
#include "proxy/qapf_pipes.h"

#include "proxy/mem.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

void qapf_pipes_init(struct qapf_pipes *pp, unsigned max_idle, unsigned max_total, size_t size)
{
    *pp = (struct qapf_pipes){.max_idle = max_idle, .max_total = max_total, .size = size};
}

static struct qapf_pipe *pipe_open(size_t size)
{
    int fds[2];
    struct qapf_pipe *p;

    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
        return NULL;
    (void)fcntl(fds[1], F_SETPIPE_SZ, (int)size); /* a smaller pipe still works */
    p = xcalloc(1, sizeof(*p));
    p->rd = fds[0];
    p->wr = fds[1];
    return p;
}

static void pipe_close(struct qapf_pipe *p)
{
    close(p->rd);
    close(p->wr);
    free(p);
}

struct qapf_pipe *qapf_pipe_get(struct qapf_pipes *pp)
{
    struct qapf_pipe *p = pp->idle;

    if (p) {
        pp->idle = p->next;
        pp->nidle--;
    } else if (pp->in_use >= pp->max_total || !(p = pipe_open(pp->size))) {
        return NULL;
    }
    p->next = NULL;
    pp->in_use++;
    return p;
}

void qapf_pipe_put(struct qapf_pipes *pp, struct qapf_pipe *p, bool empty)
{
    pp->in_use--;
    if (!empty || pp->nidle >= pp->max_idle) {
        pipe_close(p);
        return;
    }
    p->next = pp->idle;
    pp->idle = p;
    pp->nidle++;
}

void qapf_pipes_free(struct qapf_pipes *pp)
{
    struct qapf_pipe *p;

    while ((p = pp->idle) != NULL) {
        pp->idle = p->next;
        pipe_close(p);
    }
    pp->nidle = 0;
}
